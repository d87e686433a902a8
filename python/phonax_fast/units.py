"""Physical units and conversion factors, defined once for the whole package.

Inputs are in eV, Å and amu. Eigenvalues of a dynamical matrix built from force
constants in eV/Å² and masses in amu are in eV/(Å²·amu); ``THZ_PER_SQRT_EV_A2_AMU``
turns their square root into THz (ordinary frequency, not angular).

The constants are the ones phonopy uses (its ``physical_units``), so that numbers
computed here and by phonopy from the same force constants agree to round-off.
"""

import math

import numpy as np

EV = 1.60217733e-19  # J
AMU = 1.6605402e-27  # kg
ANGSTROM = 1e-10  # m
KB_EV = 8.6173382568083e-05  # Boltzmann constant, eV/K
HBAR_EVS = 6.582118985531608e-16  # reduced Planck constant, eV·s
AVOGADRO = 6.02214179e23

# sqrt(eV / (Å^2 amu)) / (2π), in THz: 15.633302
THZ_PER_SQRT_EV_A2_AMU = math.sqrt(EV / (ANGSTROM**2 * AMU)) / (2 * math.pi) / 1e12
CM1_PER_THZ = 33.3564095198152  # 1 THz in cm^-1
MEV_PER_THZ = 4.13566733  # 1 THz in meV (h·1 THz)
EV_PER_THZ = MEV_PER_THZ * 1e-3
EV_PER_CM1 = EV_PER_THZ / CM1_PER_THZ  # hc·1 cm⁻¹ in eV
KJ_PER_MOL_PER_EV = EV * AVOGADRO / 1000.0  # 1 eV per formula unit in kJ/mol

# e²/(4πε₀) in eV·Å: phonopy's Hartree·Bohr (its physical_units), the default unit factor of the
# non-analytic correction (Born charges in e, ε∞ unitless, lengths in Å → eV/Å²)
NAC_UNIT_FACTOR = 14.39965172592227

# IR and Raman intensities (vibrations.intensities), CODATA 2018 (e, N_A, c exact; ε₀ and the
# atomic mass constant measured)
_E = 1.602176634e-19  # C
_N_A = 6.02214076e23  # 1/mol
_C = 299792458.0  # m/s
_EPSILON_0 = 8.8541878128e-12  # F/m
_AMU = 1.66053906660e-27  # kg

KM_PER_MOL_PER_E2_PER_AMU = _N_A * _E**2 / (12 * _EPSILON_0 * _C**2 * _AMU) / 1e3  # 974.880 km/mol per e²/amu
DEBYE_PER_E_ANGSTROM = _E * 1e-10 / (1e-21 / _C)  # 4.803205 D per e·Å (1 D = 1e-21/c C·m)
KM_PER_MOL_PER_DEBYE2_PER_ANGSTROM2_PER_AMU = KM_PER_MOL_PER_E2_PER_AMU / DEBYE_PER_E_ANGSTROM**2  # 42.2561
ANGSTROM3_PER_E_ANGSTROM2_PER_V = _E / (4 * math.pi * _EPSILON_0 * 1e-10)  # 14.399645: e/(4πε₀·Å) in V
# (the same e²/(4πε₀) as NAC_UNIT_FACTOR, in CODATA 2018 rather than phonopy's older constants: 4e-7 apart)
VACUUM_PERMITTIVITY = _EPSILON_0 * 1e-10 / _E  # ε₀ = 0.00552635 e/(V·Å): ε∞ = 1 + α/(ε₀V) with α in e·Å²/V, V in Å³

FREQUENCY_UNITS = {"THz": 1.0, "cm-1": CM1_PER_THZ, "meV": MEV_PER_THZ}


def convert_frequency(freq_thz, unit: str):
    """Convert frequencies from THz to ``unit`` (one of ``FREQUENCY_UNITS``)."""
    try:
        return freq_thz * FREQUENCY_UNITS[unit]
    except KeyError:
        raise ValueError(f"unknown frequency unit {unit!r}; use one of {sorted(FREQUENCY_UNITS)}") from None


def eigenvalues_to_thz(eigenvalues):
    """ω = sign(λ)·√|λ| in THz for eigenvalues λ in eV/(Å²·amu); negative λ give negative (imaginary) ω."""
    ev = np.asarray(eigenvalues)
    return np.sign(ev) * np.sqrt(np.abs(ev)) * THZ_PER_SQRT_EV_A2_AMU


def eigenvalues_to_cm1(eigenvalues):
    """sign(λ)·√|λ| in cm⁻¹ for eigenvalues λ in eV/(Å²·amu); negative λ give negative (imaginary) ν."""
    return eigenvalues_to_thz(eigenvalues) * CM1_PER_THZ


# Atomic and chemical units of training data (Hartree, bohr, kcal/mol), with ASE's values
# (``ase.units``, CODATA 2014), so that files converted here and by ASE agree exactly.
EV_PER_HARTREE = 27.211386024367243  # 1 Hartree in eV
ANGSTROM_PER_BOHR = 0.5291772105638411  # 1 bohr in Å
EV_PER_KCAL_PER_MOL = 0.04336410390059322  # 1 kcal/mol (per formula unit) in eV

ENERGY_UNITS = {"eV": 1.0, "hartree": EV_PER_HARTREE, "kcal/mol": EV_PER_KCAL_PER_MOL}  # eV per unit
LENGTH_UNITS = {"angstrom": 1.0, "bohr": ANGSTROM_PER_BOHR}  # Å per unit


def energy_factor(unit: str) -> float:
    """eV per 1 ``unit`` (one of ``ENERGY_UNITS``: "eV", "hartree", "kcal/mol")."""
    try:
        return ENERGY_UNITS[unit]
    except KeyError:
        raise ValueError(f"unknown energy unit {unit!r}; use one of {sorted(ENERGY_UNITS)}") from None


def length_factor(unit: str) -> float:
    """Å per 1 ``unit`` (one of ``LENGTH_UNITS``: "angstrom", "bohr")."""
    try:
        return LENGTH_UNITS[unit]
    except KeyError:
        raise ValueError(f"unknown length unit {unit!r}; use one of {sorted(LENGTH_UNITS)}") from None
