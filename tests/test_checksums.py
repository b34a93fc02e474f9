import hashlib

from pipeline.checksums import file_sha256


def test_file_sha256_matches_hashlib_across_chunk_boundaries(tmp_path):
    data = bytes(range(256)) * 8193  # just over 2 MiB: several 1 MiB reads and a partial one
    path = tmp_path / "export.csv"
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()


def test_file_sha256_of_an_empty_file(tmp_path):
    path = tmp_path / "empty"
    path.write_bytes(b"")
    assert file_sha256(path) == hashlib.sha256(b"").hexdigest()
