"""Running Elanus as a cluster: sessions in the metadata KV by which roles find each
other (:mod:`elanus.cluster.sessions`), and the supervisor behind ``elanus cluster
up/status/down`` that runs every role as its own process
(:mod:`elanus.cluster.supervisor`)."""
