"""Bad input: every case gets a ReadError (a CassisError) whose one-line message names the file
and the problem; the CLI prints it and exits 2, without a traceback."""

import gzip
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from cassis_lite.errors import CassisError
from cassis_lite.readers import MAX_IN_MEMORY_BYTES, ReadError, TooLargeError, probe, read_spectrum

DATA = Path(__file__).parent / "data"
REAL_FITS = (DATA / "alfalfa_sp.fits").read_bytes()


def _png() -> bytes:
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    raw = b"".join(b"\x00" + bytes([255, 0, 0] * 4) for _ in range(4))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _cube_header(shape_fits, bitpix=-32) -> bytes:
    cards = ["SIMPLE  =                    T", f"BITPIX  = {bitpix:>20}", f"NAXIS   = {len(shape_fits):>20}"]
    cards += [f"NAXIS{i}  = {n:>20}" for i, n in enumerate(shape_fits, 1)]
    cards += ["CTYPE3  = 'FREQ    '", "CRVAL3  =                1.0E11", "CDELT3  =                1.0E5",
              "CRPIX3  =                  1.0", "END"]
    text = "".join(f"{c:<80}" for c in cards)
    return (text + " " * (-len(text) % 2880)).encode()


def _expect(data, name, pattern, **kw):
    with pytest.raises(ReadError, match=pattern) as info:
        read_spectrum(data, name=name, **kw)
    msg = str(info.value)
    assert name in msg and "\n" not in msg
    assert isinstance(info.value, CassisError)
    return msg


def test_png_named_fits(tmp_path):
    p = tmp_path / "spectrum.fits"
    p.write_bytes(_png())
    _expect(str(p), "spectrum.fits", "PNG image, not a spectrum")


def test_empty_file(tmp_path):
    p = tmp_path / "empty.fits"
    p.write_bytes(b"")
    _expect(str(p), "empty.fits", "file is empty")
    _expect(b"", "empty.csv", "file is empty")


def test_missing_file_and_directory(tmp_path):
    _expect(str(tmp_path / "nope.fits"), "nope.fits", "no such file")
    _expect(str(tmp_path), tmp_path.name, "directory")


@pytest.mark.parametrize("cut,pattern", [(100, "truncated FITS header"), (4000, "truncated FITS header"),
                                         (20000, "truncated FITS file: HDU 1 declares 32768 bytes")])
def test_truncated_real_fits(cut, pattern):
    _expect(REAL_FITS[:cut], "alfalfa_cut.fits", pattern)


def test_truncation_after_the_spectrum_is_reported_not_fatal():
    sp = read_spectrum(REAL_FITS[:-5000], name="alfalfa_tail.fits")  # HDU 2 cut, HDU 1 intact
    assert sp.n_channels == 1024
    assert any("HDU 2" in w and "truncated" in w for w in sp.meta["warnings"])


@pytest.mark.parametrize("card,value,pattern", [
    ("BITPIX", "                   7", "BITPIX = 7"),
    ("NAXIS1", "                  -4", "NAXIS1 = -4 is out of range"),
    ("NAXIS1", "               'abc'", "NAXIS1 = 'abc' is not an integer"),
])
def test_corrupt_header_values(card, value, pattern):
    hdr = bytearray(_cube_header([8, 8, 16]))
    i = hdr.index(card.encode().ljust(8) + b"= ")
    hdr[i + 10:i + 30] = value.encode()
    _expect(bytes(hdr) + b"\x00" * 2880 * 2, "bad.fits", pattern)


def test_non_ascii_header_bytes():
    data = bytearray(REAL_FITS)
    data[200:204] = b"\xff\xfe\x00\x01"
    _expect(bytes(data), "garbled.fits", "non-ASCII bytes in the FITS header")


def test_fits_without_spectral_axis(tmp_path):
    p = tmp_path / "image.fits"
    fits.PrimaryHDU(np.zeros((10, 10), np.float32)).writeto(p)
    _expect(str(p), "image.fits", "no spectral axis")


def test_tile_compressed_image_is_named(tmp_path):
    p = tmp_path / "comp.fits"
    hdu = fits.CompImageHDU(np.zeros((8, 8), np.float32))
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(p)
    _expect(str(p), "comp.fits", "tile-compressed")


def test_nan_axis_and_all_nan_flux(tmp_path):
    p = tmp_path / "nan.fits"
    fits.BinTableHDU.from_columns([fits.Column("FREQ", "D", unit="GHz", array=[1.0, np.nan, 3.0]),
                                   fits.Column("FLUX", "D", array=[1.0, 2.0, 3.0])]).writeto(p)
    _expect(str(p), "nan.fits", "non-finite value")
    q = tmp_path / "allnan.fits"
    fits.BinTableHDU.from_columns([fits.Column("FREQ", "D", unit="GHz", array=[1.0, 2.0, 3.0]),
                                   fits.Column("FLUX", "D", array=[np.nan] * 3)]).writeto(q)
    _expect(str(q), "allnan.fits", "no finite intensity")


def test_non_monotonic_axis():
    rng = np.random.default_rng(3)
    x = rng.permutation(np.arange(1000.0, 2000.0))
    text = "\n".join(f"{v} 1.0" for v in x).encode()
    _expect(text, "scrambled.txt", "not monotonic")


def test_mixed_units():
    _expect(b"# unitx: GHz\nfreq (MHz), T (K)\n1,2\n2,3\n", "mixed.csv", "mixed units")
    _expect(b"230 GHz, 1 K\n231 GHz, 2 K\n", "inline.csv", "not a number|text without rows")


def test_cube_too_large_is_refused_from_the_header_only():
    # a 1024 x 1024 x 256 float32 cube (1 GiB) declared by a header; only 8 KiB present
    head = _cube_header([1024, 1024, 256]) + b"\x00" * 5760
    big = 1024 * 1024 * 256 * 4
    with pytest.raises(TooLargeError, match=r"HDU 0 of shape \[256, 1024, 1024\] holds 1024 MiB, over the 512 MiB"):
        probe(head, file_size=big + 2880, name="big.fits")
    msg = _expect(head, "big.fits", "1024 MiB of data, over the 512 MiB limit")
    assert "truncated" not in msg  # refused from the header, before looking at the data
    # an in-limit cube passes the probe
    small = _cube_header([64, 64, 128])
    info = probe(small, file_size=2880 + 64 * 64 * 128 * 4, name="ok.fits")
    assert info["hdus"][0]["shape"] == [128, 64, 64] and MAX_IN_MEMORY_BYTES == 512 * 2**20


def test_probe_refuses_any_large_file_and_foreign_content():
    with pytest.raises(TooLargeError, match="over the 512 MiB limit"):
        probe(b"1 2\n3 4\n", file_size=600 * 2**20, name="huge.csv")
    with pytest.raises(ReadError, match="PNG"):
        probe(_png()[:64], file_size=1000, name="x.fits")


def test_gzip_bomb_refused_before_inflating():
    bomb = gzip.compress(b"\x00" * (3 * 2**20))
    _expect(bomb, "bomb.fits.gz", "3 MiB uncompressed, over the 1 MiB limit", max_bytes=2**20)
    _expect(gzip.compress(REAL_FITS)[:-100], "cut.fits.gz", "gzip")


def test_unknown_format_and_binary_garbage():
    _expect(b"\x00\x01\x02\x03" * 100, "junk.bin", "unrecognised binary content")
    _expect(REAL_FITS, "x.fits", "unknown format 'hdf'", format="hdf")


def test_cli_prints_one_line_and_exits_2(tmp_path):
    p = tmp_path / "picture.fits"
    p.write_bytes(_png())
    proc = subprocess.run([sys.executable, "-m", "cassis_lite", "info", str(p)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "cassis-lite: error: picture.fits: this is a PNG image, not a spectrum"
    assert "Traceback" not in proc.stderr


def test_pixel_on_a_single_spectrum():
    sdss = (DATA / "SDSSJ220248.31+123656.3.fits").read_bytes()
    _expect(sdss, "sdss.fits", "not a cube: pixel/region do not apply", pixel=(0, 0))
