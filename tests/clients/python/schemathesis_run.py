"""Runs Schemathesis's command line the way both fuzz scripts need it
(fuzz_ofrep.py, fuzz_api.py): every check, a fixed seed, no example
database, and its cache and reports in the working directory `work` (a
temporary one), its report on standard output."""

import os
import subprocess
import sys


def run_schemathesis(spec, url, examples, seed, work, before=(), extra=(), env=None):
    """Schemathesis's exit status; `before` goes before `run` (global
    options such as `--config-file`), `extra` after the common options."""
    cli = os.path.join(os.path.dirname(sys.executable), "schemathesis")
    run = subprocess.run(
        [
            cli, *before, "run", spec,
            "--url", url,
            "--checks", "all",
            *extra,
            "--max-examples", examples,
            "--seed", seed,
            "--generation-database", "none",
            "--request-timeout", "30",
            "--report-dir", os.path.join(work, "report"),
        ],
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    sys.stdout.write(run.stdout)
    return run.returncode
