"""
An MD5 whose running state can be saved and restored, so a resumable upload that arrives
over many requests (tus PATCHes, maybe on different worker processes, maybe across a
restart) is hashed while its bytes arrive, never with a second read of a multi-GB file.

hashlib cannot export its state, so this drives OpenSSL's MD5_Init/Update/Final through
ctypes (the same libcrypto Python's own hashlib uses) and stores the 92-byte MD5_CTX.
Where that library is missing, :func:`available` is False and callers hash the finished
file once instead.
"""

import ctypes
import ctypes.util
import hashlib

_CTX_SIZE = 92  # sizeof(MD5_CTX): A,B,C,D,Nl,Nh (6 x u32) + data[16] (u32) + num (u32)


def _load():
    for name in ("libcrypto.so.3", ctypes.util.find_library("crypto"), "libcrypto.so.1.1"):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
            lib.MD5_Init, lib.MD5_Update, lib.MD5_Final  # noqa: B018 (probe the symbols)
        except (OSError, AttributeError):
            continue
        lib.MD5_Init.argtypes = [ctypes.c_void_p]
        lib.MD5_Update.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
        lib.MD5_Final.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
        return lib
    return None


_lib = _load()


def available() -> bool:
    return _lib is not None


class ResumableMD5:
    """``hashlib.md5`` with ``state()`` / ``ResumableMD5(state)``."""

    def __init__(self, state: bytes | None = None):
        if _lib is None:
            raise RuntimeError("libcrypto's MD5 is not available")
        self._ctx = ctypes.create_string_buffer(_CTX_SIZE)
        if state:
            if len(state) != _CTX_SIZE:
                raise ValueError("not an MD5 state")
            ctypes.memmove(self._ctx, bytes(state), _CTX_SIZE)
        else:
            _lib.MD5_Init(self._ctx)

    def update(self, data: bytes) -> None:
        _lib.MD5_Update(self._ctx, data, len(data))

    def state(self) -> bytes:
        return self._ctx.raw

    def hexdigest(self) -> str:
        ctx = ctypes.create_string_buffer(self._ctx.raw, _CTX_SIZE)  # Final destroys its ctx
        out = ctypes.create_string_buffer(16)
        _lib.MD5_Final(out, ctx)
        return out.raw.hex()


def md5_of_file(path, chunk_size: int = 1 << 20) -> str:
    """The fallback: hash a finished file in one streaming read."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()
