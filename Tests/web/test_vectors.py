"""The web protocol module against every vector, RFC 8439's own vectors, its behaviour beyond the vectors, and
random cases recomputed by the Swift CLI: run_vectors.py's checks as one test (its output is shown on failure)."""

import run_vectors


def test_the_web_protocol_module_passes_every_vector_and_the_swift_cross_check(browser, bin_dir):
    passed, failed = run_vectors.check_all(browser, bin_dir / "reciprocity")
    assert failed == 0 and passed > 0, f"{passed} passed, {failed} failed (the lines above say which)"
