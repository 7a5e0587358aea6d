"""blake2b, the hash sotb names documents and cache entries by.

It is taken from CPython's own blake2 module where there is one: importing
`hashlib` also loads OpenSSL, a fiftieth of a small lint.
"""

try:
    from _blake2 import blake2b
except ImportError:  # another Python
    from hashlib import blake2b

__all__ = ["blake2b", "file_sha"]


def file_sha(data: bytes) -> str:
    """The hash a Document keeps of its file's bytes (`Document.sha`)."""
    return blake2b(data, digest_size=16).hexdigest()
