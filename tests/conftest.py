"""Shared pytest fixtures."""

import pytest

import reference_data


@pytest.fixture(scope="session")
def phonopy_si():
    """phonopy's DFT Si (``phonopy.Phonopy``, compact force constants)."""
    return reference_data.load_si()


@pytest.fixture(scope="session")
def phonopy_nacl():
    """phonopy's DFT NaCl without NAC (``phonopy.Phonopy``, compact force constants)."""
    return reference_data.load_nacl()
