"""`tlspec serve`: a real server process on 127.0.0.1 and a real HTTP client; every bad input a clear 4xx."""

import base64
import json
import re
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest

from helpers import CNN_SPEC, make_image_folder, served
from tlspec.spec.validate import validate_file
from tlspec.training.runner import train

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")


@pytest.fixture(scope="module")
def server(tmp_path_factory, keras):
    """One trained run served for every test here (starting a server costs seconds)."""
    root = tmp_path_factory.mktemp("serve")
    for split, count, seed in (("train", 24, 0), ("validation", 8, 1), ("test", 8, 2)):
        make_image_folder(root / "images" / split, {"cat": count, "dog": count}, seed=seed)
    (root / "spec.yaml").write_text(textwrap.dedent(CNN_SPEC.format(augmentation="", cache="")), encoding="utf-8")
    train(validate_file(root / "spec.yaml"), out=root / "run", verbose=0)
    with served(root / "run", "--max-wait-ms", "100", "--max-request-bytes", "200000", "--max-items", "8") as base:
        yield base, root / "images"


def test_health_metadata_docs_and_predictions(server):
    base, images = server
    assert httpx.get(f"{base}/health").json() == {"status": "ok", "run": "colours"}
    metadata = httpx.get(f"{base}/metadata").json()
    assert metadata["heads"]["animal"]["classes"] == ["cat", "dog"]
    assert metadata["inputs"]["image"]["shape"] == [None, 16, 16, 3]
    assert httpx.get(f"{base}/docs").status_code == 200
    assert "/predict" in httpx.get(f"{base}/openapi.json").json()["paths"]

    cat, dog = images / "test" / "cat" / "cat.0.jpg", images / "test" / "dog" / "dog.0.jpg"
    files = [("file", ("cat.jpg", cat.read_bytes())), ("file", ("dog.jpg", dog.read_bytes()))]
    answer = httpx.post(f"{base}/predict", files=files, data={"top_k": "2"})
    assert answer.status_code == 200, answer.text
    predictions = answer.json()["predictions"]
    assert [(p["input"], p["heads"]["animal"]["label"]) for p in predictions] == [("cat.jpg", "cat"),
                                                                                   ("dog.jpg", "dog")]
    assert [entry["label"] for entry in predictions[1]["heads"]["animal"]["top"]] == ["dog", "cat"]
    encoded = {"instances": [{"b64": base64.b64encode(cat.read_bytes()).decode(), "name": "a.jpg"}]}
    assert httpx.post(f"{base}/predict", json=encoded).json()["predictions"][0]["heads"]["animal"]["label"] == "cat"


def test_bad_inputs_get_a_clear_4xx(server):
    base, images = server
    whole = (images / "test" / "cat" / "cat.0.jpg").read_bytes()

    def post(**request):
        answer = httpx.post(f"{base}/predict", **request)
        return answer.status_code, answer.json()

    status, body = post(json={"instances": [5, {"b64": base64.b64encode(whole[:200]).decode(), "name": "cut.jpg"},
                                            "images/test/cat/cat.0.jpg"]})
    assert status == 422 and body["error"] == "3 of 3 items could not be read"
    assert [item["error"] for item in body["predictions"]] == [
        "instance 0: expected a text or {\"b64\": \"…\"} (a file), got a number",
        "cut.jpg: truncated JPEG (it ends inside its header)",
        "images/test/cat/cat.0.jpg: an image is sent as a file (multipart) or as base64, not as text"]
    assert post(json={"instance": []}) == (400, {"error": "expected 'instances' (a list of items) or 'inputs' "
                                                          "(arrays by model input name), one of the two; got "
                                                          "'instance' (did you mean 'instances'?)"})
    assert post(content=b"{bad", headers={"content-type": "application/json"})[0] == 400
    assert post(content=b"x", headers={"content-type": "text/plain"}) == (
        415, {"error": "send application/json or multipart/form-data, not text/plain"})
    assert post(json={"inputs": {"image": [[[1, 2, 3]]]}}) == (
        400, {"error": "input 'image' must have shape (batch, 16, 16, 3); got (1, 1, 3)"})
    assert post(json={"inputs": {"imag": []}})[1]["error"].startswith("the model has no input 'imag' (did you mean "
                                                                      "'image'?)")
    status, body = post(files=[("file", ("big.jpg", b"\xff" * 300_000))])  # the multipart framing varies
    assert status == 413 and re.fullmatch(r"the request is 300,\d{3} bytes or more; this server takes at most "
                                          r"200,000 \(--max-request-bytes\)", body["error"]), body
    assert post(json={"instances": ["a"] * 9}) == (
        413, {"error": "the request has 9 items; this server takes at most 8 per request (--max-items)"})
    assert post(files=[("other", ("x.jpg", whole))]) == (
        400, {"error": "a multipart request sends its items as 'file' fields; there are none"})
    assert httpx.get(f"{base}/predict").status_code == 405


def test_concurrent_requests_share_batches_and_each_gets_its_own_answer(server):
    base, images = server
    files = sorted((images / "test" / "cat").glob("*.jpg"))[:4] + sorted((images / "test" / "dog").glob("*.jpg"))[:4]

    def ask(path):
        answer = httpx.post(f"{base}/predict", files=[("file", (path.name, path.read_bytes()))], timeout=60)
        return answer.status_code, answer.json()["predictions"][0]

    before = httpx.get(f"{base}/metadata").json()["batches"]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, files * 2))  # 16 requests, 8 at a time
    assert [status for status, _ in answers] == [200] * 16
    assert [p["input"] for _, p in answers] == [path.name for path in files * 2]
    assert [p["heads"]["animal"]["label"] for _, p in answers] == (["cat"] * 4 + ["dog"] * 4) * 2
    after = httpx.get(f"{base}/metadata").json()["batches"]
    assert after["items"] - before["items"] == 16
    assert after["run"] - before["run"] < 16, json.dumps(after)  # some requests were answered together
