"""A GGUF whose matrices are Q4_1 gets a Q8_0 copy in the model cache, made once, for llama.cpp's
fast CPU kernels.

llama.cpp's CPU backend reads prompts with tiled matrix products (llamafile's tinyBLAS, and
repacked weights) for Q8_0, Q4_0 and the K-quants, but not for Q4_1: every product of a Q4_1
model is a row-by-row dot product. The default SmolLM2-135M file is Q4_1. Its Q8_0 copy read
38 prompts of the public sets about 1.6 times as fast as the file itself (16 slots against 4,
benchmarks/README.md, issue 33), for 145 MB on disk instead of 98 MB.

Q8_0 stores each block of 32 values with one scale and 8-bit steps: a Q4_1 value (16 steps a
block) lands within half a Q8_0 step, a few percent of a Q4_1 step, so the copy is the same model
to within rounding, not a requantised one. gguf (llama.cpp's own Python package) reads, converts
and writes the file.
"""

import logging
from pathlib import Path

from rag.models.files import written_aside

log = logging.getLogger(__name__)

SLOW_TYPES = ("Q4_1",)  # matrix types without llama.cpp's tiled CPU kernels that are converted


def runtime_gguf(path: Path, cache: Path) -> Path:
    """The file llama.cpp should load for path: path itself, or its Q8_0 copy when it is a Q4_1
    file (made now into cache/models if not there yet).

    A file is taken for Q4_1 by its name, as GGUF files are named ("...Q4_1.gguf"), and then by
    its tensors: reading a GGUF's tensor list takes seconds, more than a cold `rag ask` may
    spend on every file. The copy's name holds the source's size and modification time: a
    changed source gets a new copy. It is written aside and renamed into place, so an
    interrupted conversion leaves none.
    """
    if not any(kind.lower() in path.name.lower() for kind in SLOW_TYPES):
        return path
    stat = path.stat()
    target = cache / "models" / f"{path.stem}.q8_0-{stat.st_size}-{stat.st_mtime_ns}.gguf"
    if target.is_file():
        return target
    import gguf

    reader = gguf.GGUFReader(path)
    slow = [t for t in reader.tensors if t.tensor_type.name in SLOW_TYPES]
    if not slow:
        return path
    log.info("making a Q8_0 copy of %s (%d Q4_1 matrices) in %s, once", path.name, len(slow), target.parent)
    try:
        with written_aside(target) as partial:
            write_q8_0(reader, partial)
    except OSError as exc:  # a read-only or full cache: the file itself still works, more slowly
        log.warning("cannot write the Q8_0 copy of %s (%s): using the file as it is", path.name, exc)
        return path
    return target


def write_q8_0(reader, target: Path):
    """Writes reader's model to target with its Q4_1 matrices as Q8_0, everything else as it is."""
    import gguf
    from gguf import quants

    kinds = gguf.GGMLQuantizationType
    writer = gguf.GGUFWriter(target, arch=reader.fields[gguf.Keys.General.ARCHITECTURE].contents(),
                             endianess=reader.endianess)
    for field in reader.fields.values():
        # The architecture and GGUF.* are written by the writer itself; the file type no longer holds.
        if field.name in (gguf.Keys.General.ARCHITECTURE, gguf.Keys.General.FILE_TYPE) or field.name.startswith("GGUF."):
            continue
        kind = field.types[0]
        writer.add_key_value(field.name, field.contents(), kind,
                             sub_type=field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None)
    for tensor in reader.tensors:
        if tensor.tensor_type.name in SLOW_TYPES:
            values = quants.dequantize(tensor.data, tensor.tensor_type)
            writer.add_tensor(tensor.name, quants.quantize(values, kinds.Q8_0), raw_dtype=kinds.Q8_0)
        else:
            writer.add_tensor(tensor.name, tensor.data, raw_dtype=tensor.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
