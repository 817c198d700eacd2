"""The Milvus 0.x "table" API (pymilvus 0.2.x), served on its own port (proxy.legacy_port)."""
