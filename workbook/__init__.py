"""Instructor tooling for the Deep Q Workbook (the ``workbook`` command); students never import it.

* :mod:`workbook.build` — ``workbook build [--check]``: lectures generated from solutions, leaks caught;
* :mod:`workbook.run` — run a notebook with injected parameters and read figures out of it (benchmarks);
* :mod:`workbook.grade` — ``workbook grade``: a folder of submissions into a scores table;
* :mod:`workbook.cli` — the command line.
"""
