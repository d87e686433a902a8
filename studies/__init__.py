"""Studies: reproduction scripts of the bundled models, the paper-figure studies and the
reference-data generators they share. Not part of the installed package (the wheel holds
``python/phonax_fast`` only); run from the repository root as ``python -m studies.<name>``
(see ``studies/README.md``)."""
