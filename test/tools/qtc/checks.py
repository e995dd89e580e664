"""Shared by the test scripts of this directory: the pass/fail tally they
print ("OK label: detail" / "MISMATCH ...", then "N passed, M failed") and
the onnxruntime reference setting they compare with."""
import sys

import onnx


class Tally:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, label, ok, detail):
        print(f"{'OK' if ok else 'MISMATCH'} {label}: {detail}")
        self.passed += bool(ok)
        self.failed += not ok

    def finish(self):
        """Prints the counts and exits: non-zero on a failure or when
        nothing was checked."""
        print(f"{self.passed} passed, {self.failed} failed")
        sys.exit(1 if self.failed or self.passed == 0 else 0)


def accuracy_level_0(path):
    """The model at `path` with every MatMulNBits at accuracy_level 0 (fp32
    activations against the dequantized weights, what qtc computes; level 4
    rounds activations to 8 bits), serialized for an InferenceSession."""
    proto = onnx.load(path)
    for node in proto.graph.node:
        for attr in node.attribute:
            if node.op_type == "MatMulNBits" and attr.name == "accuracy_level":
                attr.i = 0
    return proto.SerializeToString()
