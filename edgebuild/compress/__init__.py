"""compress: the optional float-model stage before quantization (pruning, weight sharing, low-rank) and the
entropy coding of the artifact's constants (huffman.py). docs/compression.md describes the options."""
