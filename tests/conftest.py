"""Shared pytest fixtures. phonopy's DFT reference data come through the test helper
``reference_data`` (fetched once into ``$PHONAX_TEST_DATA`` or ``out/phonopy-sdist``, git-ignored)."""

import os

import pytest

# the CLI's persistent compilation cache stays off in tests (tests/cli/test_compilation_cache.py
# turns it on in a folder of its own); tests write nothing to the user's cache directory
os.environ.setdefault("PHONAX_FAST_CACHE_DIR", "none")

import reference_data


@pytest.fixture(scope="session")
def phonopy_sdist():
    """The extracted folder of phonopy's source distribution (``example/``, ``test/``), a ``Path``."""
    return reference_data.phonopy_sdist()


@pytest.fixture(scope="session")
def phonopy_si():
    """phonopy's DFT Si (``phonopy.Phonopy``, compact force constants)."""
    return reference_data.load_si()


@pytest.fixture(scope="session")
def phonopy_nacl():
    """phonopy's DFT NaCl without NAC (``phonopy.Phonopy``, compact force constants)."""
    return reference_data.load_nacl()
