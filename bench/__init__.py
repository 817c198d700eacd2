"""Benchmarks: Elanus standalone beside raw FAISS (the floor) and Milvus Lite,
driven through pymilvus. Run with ``bench/run`` (see ``python -m bench -h``);
results and their analysis are in bench/RESULTS.md."""
