"""The models and the engines that run them.

    base.py           the Embedder and Generator protocols the pipeline is written against
    factory.py        the one place that names an engine: the configured embedder and generator
    embedding.py      sentence-transformers embedders (the default: all-MiniLM-L6-v2)
    bert_numpy.py     the same BERT encoder in numpy, for the few texts of a question
    quantized.py      an int8 ONNX Runtime copy of the embedder for large builds
    ray_embedding.py  embedding spread over Ray workers while indexing
    generation.py     the GGUF generator on llama.cpp (xllamacpp)
    files.py          where GGUF model files come from (`rag models`)
    batching.py       grouping texts by length, for the encoders
    threads.py        how many threads a forward pass may use

Nothing is imported here, so that importing rag.models.base loads no engine module.
"""
