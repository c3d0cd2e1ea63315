"""web/qr.js, the console's QR encoder, in Chromium against every symbol of Tests/web/vectors/qr_test.json (made by
segno, the reference encoder, with scripts/qr_vectors.py): the same version, mask and every module."""

import json
import pathlib

VECTORS = pathlib.Path(__file__).resolve().parent / "vectors" / "qr_test.json"

# Runs in the page: each vector's text through encodeQR, its modules as the vectors write them (hex rows).
CHECK = """async (tests) => {
    const { encodeQR } = await import("/web/qr.js");
    const hex = (row) => {
        const bits = Array.from(row).join("") + "0".repeat((4 - (row.length % 4)) % 4);
        let out = "";
        for (let i = 0; i < bits.length; i += 4) out += parseInt(bits.slice(i, i + 4), 2).toString(16);
        return out;
    };
    return tests.map((t) => {
        const code = encodeQR(t.text);
        const rows = code.modules.map(hex);
        const wrong = rows.findIndex((row, i) => row !== t.matrix[i]);
        return { tcId: t.tcId, version: code.version, mask: code.mask, size: code.size, wrongRow: wrong };
    });
}"""


def test_every_vector_module_for_module(browser, server):
    document = json.loads(VECTORS.read_text(encoding="utf-8"))
    tests = document["tests"]
    assert document["numberOfTests"] == len(tests) >= 90
    assert {t["version"] for t in tests} == set(range(1, 41))
    assert {t["mask"] for t in tests} == set(range(8))
    page = browser.new_context().new_page()
    page.goto(server.base + "/console")
    results = {r["tcId"]: r for r in page.evaluate(CHECK, tests)}
    page.context.close()
    failures = []
    for t in tests:
        got = results[t["tcId"]]
        if (got["version"], got["mask"], got["size"], got["wrongRow"]) != (t["version"], t["mask"], t["size"], -1):
            failures.append(f"tcId {t['tcId']} ({t['comment']}): version {got['version']} mask {got['mask']} "
                            f"(want {t['version']}, {t['mask']}), first wrong row {got['wrongRow']}")
    assert not failures, "\n".join(failures)


def test_text_longer_than_version_40_is_refused_with_a_sentence(browser, server):
    page = browser.new_context().new_page()
    page.goto(server.base + "/console")
    message = page.evaluate("""async () => {
        const { encodeQR } = await import("/web/qr.js");
        try { encodeQR("x".repeat(2332)); return "no error"; } catch (error) { return `${error.name}: ${error.message}`; }
    }""")
    fits = page.evaluate("async () => (await import('/web/qr.js')).encodeQR('x'.repeat(2331)).version")
    page.context.close()
    assert message == "RangeError: the text is 2332 bytes, more than a QR code holds (2331)", message
    assert fits == 40
