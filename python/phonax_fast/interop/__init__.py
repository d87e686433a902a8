"""Files and other programs: structures in (ase.io, bundled examples), phonopy objects and files
both ways, phonopy's finite displacements as a reference. Built on the harmonic data types only."""

from .files import write_band_yaml, write_force_constants, write_phonopy_params, write_total_dos
from .finite_displacements import phonopy_finite_displacements
from .phonopy_export import supercell_dimensions, to_phonopy
from .phonopy_import import force_constants_from_phonopy
from .structures import EXAMPLES, read_structure

__all__ = [
    "EXAMPLES",
    "force_constants_from_phonopy",
    "phonopy_finite_displacements",
    "read_structure",
    "supercell_dimensions",
    "to_phonopy",
    "write_band_yaml",
    "write_force_constants",
    "write_phonopy_params",
    "write_total_dos",
]
