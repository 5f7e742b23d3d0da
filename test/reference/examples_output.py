"""What the torch twins of the examples print (examples/pytorch/*.py), for the tests that run the
ports and compare line by line. Each program runs with fixed starting values so no random draw
differs between torch and wasmgrad."""
import os
import subprocess
import sys

from golden_io import meta, write

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")

POLYNOMIAL_ARGS = ["--init", "0.1,0.2,0.3,0.4", "--steps", "2000"]


def run(script, args):
    out = subprocess.run([sys.executable, os.path.join(ROOT, script)] + args, check=True, capture_output=True, text=True)
    return out.stdout.splitlines()


write("examples_output", {
    "meta": meta(__file__, 0),
    "polynomial": {"args": POLYNOMIAL_ARGS, "lines": run("examples/pytorch/polynomial.py", POLYNOMIAL_ARGS)},
})
