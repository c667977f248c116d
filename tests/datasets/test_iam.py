"""End-to-end tests of the IAM preparation (tf_crnn.datasets.iam, ``tf-crnn prepare-iam``) on a miniature IAM
served over HTTP from this machine."""

from __future__ import annotations

import base64
import io
import json
import re
import socket
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from tf_crnn.cli.prepare_iam import main as prepare_iam_main
from tf_crnn.data.formats.csv_rows import read_csv_rows
from tf_crnn.datasets import iam
from tf_crnn.errors import DataError
from tf_crnn.params.params import Params

USER = "iam-tester"
PASSWORD = "s3cret-Pa55word"
AUTH_TOKEN = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
GOOD_ENV = {"IAM_USER": USER, "IAM_PWD": PASSWORD}
# id: (segmentation, transcription as in lines.txt); the test line's 'Z' is in no training line.
LINES = {
    "a01-000u-00": ("ok", "A|MOVE|to|stop|Mr.|Gaitskell|from"),
    "a01-000u-01": ("ok", "nominating|any|more|Labour|life|Peers"),
    "a01-000u-02": ("err", "is|to|be|made|at|a|meeting|of|Labour"),
    "a01-000u-03": ("ok", 'put|down|a|"|resolution|"|on|the|subject'),
    "a01-003u-00": ("ok", "to|be|made|at|a|meeting"),
    "a01-003u-01": ("err", "Mr.|Labour|has|put"),
    "a02-000-00": ("ok", "Labour|Peers|to|stop"),
    "a02-004-00": ("ok", "Zoo|more|life"),
}
SPLITS = {
    "trainset.txt": ["a01-000u-00", "a01-000u-01", "a01-000u-02", "a01-000u-03"],
    "validationset1.txt": ["a01-003u-00", "a01-003u-01"],
    "validationset2.txt": ["a02-000-00"],
    "testset.txt": ["a02-004-00"],
}
LINES_TXT_HEADER = """\
#--- lines.txt ---------------------------------------------------------------#
#
# iam database line information
#
# format: a01-000u-00 ok 154 19 408 746 1663 91 A|MOVE|to|stop|Mr.|Gaitskell|from
#
#     a01-000u-00  -> line id for form a01-000u
#     ok           -> result of word segmentation
#                       ok: line is correctly segmented
#                       er: segmentation of line has one or more errors
#
#     154          -> graylevel to binarize the line
#     19           -> number of components for this line
#     408 746 1663 91  -> bounding box around this line in x,y,w,h format
#
#     A|MOVE|to|stop|Mr.|Gaitskell|from -> transcription for this line. word tokens are separated by |
#
"""
DATA_PATH = "/DBs/iamDB/data/"
SPLITS_PATH = "/static/zip/largeWriterIndependentTextLineRecognitionTask.zip"


def line_png(text: str) -> bytes:
    image = Image.new("L", (7 * len(text) + 20, 40), 255)
    ImageDraw.Draw(image).text((10, 12), text, fill=0)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def tgz(entries: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in entries:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def file_entry(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def dir_entry(name: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, 0o755
    return info, None


def link_entry(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


def lines_entries() -> list[tuple[tarfile.TarInfo, bytes | None]]:
    """The images in the layout of the real lines.tgz: writer/form/line.png, no top folder."""
    entries: list[tuple[tarfile.TarInfo, bytes | None]] = []
    for line_id, (_, text) in LINES.items():
        writer, form = line_id.split("-")[0], "-".join(line_id.split("-")[:2])
        for folder in (writer, f"{writer}/{form}"):
            if all(info.name != folder for info, _ in entries):
                entries.append(dir_entry(folder))
        entries.append(file_entry(f"{writer}/{form}/{line_id}.png", line_png(text.replace("|", " "))))
    return entries


def split_zip(names: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "".join(f"{line_id}\n" for line_id in SPLITS[name]))
    return buffer.getvalue()


def iam_archives(
    lines_extra: list[tuple[tarfile.TarInfo, bytes | None]] | None = None,
    split_names: list[str] | None = None,
    texts: dict[str, tuple[str, str]] | None = None,
) -> dict[str, bytes]:
    """The three archives of a miniature IAM, named as on the server; ``texts`` replaces transcriptions."""
    lines = {**LINES, **(texts or {})}
    lines_txt = LINES_TXT_HEADER + "".join(
        f"{line_id} {status} 154 19 408 746 1661 89 {text}\n" for line_id, (status, text) in lines.items()
    )
    return {
        iam.LINES_ARCHIVE: tgz(lines_entries() + (lines_extra or [])),
        iam.ASCII_ARCHIVE: tgz([file_entry("lines.txt", lines_txt.encode())]),
        iam.SPLITS_ARCHIVE: split_zip(split_names or list(SPLITS)),
    }


def write_archives(folder: Path, archives: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in archives.items():
        (folder / name).write_bytes(data)
    return folder


class IamServer:
    """A local stand-in of the IAM server: basic authentication, Range requests, cuts and redirects."""

    def __init__(self, archives: dict[str, bytes], cut_once: tuple[str, ...] = ()) -> None:
        self.files = {DATA_PATH + name: data for name, data in archives.items() if not name.endswith(".zip")}
        self.files[SPLITS_PATH] = archives[iam.SPLITS_ARCHIVE]
        self.cut_once = {DATA_PATH + name for name in cut_once}
        self.redirects: dict[str, str] = {}
        self.requests: list[tuple[str, str | None, str | None, int]] = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{DATA_PATH}"

    @property
    def splits_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{SPLITS_PATH}"

    def args(self) -> list[str]:
        return ["--base-url", self.base_url, "--splits-url", self.splits_url]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                """Silent: the test reads ``server.requests`` instead."""

            def _answer(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
                server.requests.append(
                    (self.path, self.headers.get("Range"), self.headers.get("Authorization"), status)
                )
                self.send_response(status)
                for key, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(key, value)
                self.end_headers()
                if self.path in server.cut_once:
                    server.cut_once.discard(self.path)
                    body = body[: len(body) // 2]
                    self.close_connection = True
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path in server.redirects:
                    self._answer(302, {"Location": server.redirects[self.path]})
                elif self.headers.get("Authorization") != f"Basic {AUTH_TOKEN}":
                    self._answer(401, {"WWW-Authenticate": 'Basic realm="IAM"'})
                elif self.path not in server.files:
                    self._answer(404, {})
                else:
                    self._serve(server.files[self.path])

            def _serve(self, data: bytes) -> None:
                match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
                if match is None:
                    self._answer(200, {"Content-Type": "application/octet-stream"}, data)
                elif int(match[1]) >= len(data):
                    self._answer(416, {"Content-Range": f"bytes */{len(data)}"})
                else:
                    start = int(match[1])
                    headers = {"Content-Type": "application/octet-stream"}
                    headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
                    self._answer(206, headers, data[start:])

        return Handler

    def __enter__(self) -> IamServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[IamServer]:
    with IamServer(iam_archives(), cut_once=(iam.LINES_ARCHIVE,)) as running:
        yield running


def run_main(args: list[str], environ: dict[str, str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = prepare_iam_main(args, environ=environ)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def assert_no_secret(text: str, root: Path | None = None) -> None:
    assert PASSWORD not in text and AUTH_TOKEN not in text
    for path in root.rglob("*") if root is not None else ():
        if path.is_file():
            data = path.read_bytes()
            assert PASSWORD.encode() not in data and AUTH_TOKEN.encode() not in data, path


def expected_text(line_id: str) -> str:
    return LINES[line_id][1].replace("|", " ")


def test_download_resumes_and_produces_csvs_alphabet_and_config(
    server: IamServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "iam"
    args = ["--output-dir", str(output), "--expected-counts", "none", *server.args()]
    code, log = run_main(args, GOOD_ENV, capsys)
    assert code == 0, log

    lines_requests = [r for r in server.requests if r[0].endswith("lines.tgz")]
    size = len(server.files[DATA_PATH + "lines.tgz"])
    assert [(r[1], r[3]) for r in lines_requests] == [(None, 200), (f"bytes={size // 2}-", 206)]
    assert (output / "archives" / "lines.tgz").read_bytes() == server.files[DATA_PATH + "lines.tgz"]
    assert not list((output / "archives").glob("*.part"))

    for split, listed in (
        ("train", "trainset.txt"),
        ("validation1", "validationset1.txt"),
        ("test", "testset.txt"),
    ):
        rows, problems = read_csv_rows(output / f"{split}.csv")
        assert not problems
        assert ["".join(row.units) for row in rows] == [expected_text(i) for i in SPLITS[listed]]
        assert all(Path(row.path).is_file() for row in rows)
    first = (output / "train.csv").read_text(encoding="utf-8").splitlines()[0]
    label = "|".join("A MOVE to stop Mr. Gaitskell from")
    assert first == f"lines/a01/a01-000u/a01-000u-00.png;|{label}|"
    assert '"' in (output / "train.csv").read_text(encoding="utf-8")

    alphabet = json.loads((output / "alphabet.json").read_text(encoding="utf-8"))
    train_chars = {c for i in SPLITS["trainset.txt"] for c in expected_text(i)}
    assert set(alphabet) == train_chars and "Z" not in alphabet
    assert re.search(r"WARNING: 1 test line\(s\) hold characters absent from the training lines: 'Z'", log)

    config = json.loads((output / "config_iam.json").read_text(encoding="utf-8"))
    params = Params.from_dict(config)
    assert params.input_shape == (64, 1024)
    assert [Path(p).resolve() for p in params.csv_files_train] == [(output / "train.csv").resolve()]
    assert [Path(p).resolve() for p in params.csv_files_eval] == [(output / "validation1.csv").resolve()]
    assert Path(params.lookup_alphabet_file).resolve() == (output / "alphabet.json").resolve()
    assert params.max_chars_per_string == max(len(expected_text(i)) for i in LINES)
    assert "on_invalid_rows" not in config
    assert_no_secret(log, tmp_path)


def test_second_run_downloads_nothing_and_needs_no_credentials(
    server: IamServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--output-dir", str(tmp_path / "iam"), "--expected-counts", "none", *server.args()]
    assert run_main(args, GOOD_ENV, capsys)[0] == 0
    before = len(server.requests)
    code, log = run_main(args, {}, capsys)
    assert code == 0, log
    assert len(server.requests) == before
    assert "lines.tgz: already extracted" in log


def test_partial_download_of_an_earlier_run_is_resumed(
    server: IamServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.cut_once.clear()
    archive = server.files[DATA_PATH + "ascii.tgz"]
    (tmp_path / "iam" / "archives").mkdir(parents=True)
    (tmp_path / "iam" / "archives" / "ascii.tgz.part").write_bytes(archive[:100])
    code, log = run_main(
        ["--output-dir", str(tmp_path / "iam"), "--expected-counts", "none", *server.args()], GOOD_ENV, capsys
    )
    assert code == 0, log
    assert [r[1] for r in server.requests if r[0].endswith("ascii.tgz")] == ["bytes=100-"]
    assert (tmp_path / "iam" / "archives" / "ascii.tgz").read_bytes() == archive


def test_archives_downloaded_by_hand_and_segmentation_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archives = write_archives(tmp_path / "downloads", iam_archives())
    args = [
        "--archives-dir",
        str(archives),
        "--output-dir",
        str(tmp_path / "iam"),
        "--expected-counts",
        "none",
    ]
    code, log = run_main([*args, "--segmentation", "ok"], {}, capsys)
    assert code == 0, log
    train, _ = read_csv_rows(tmp_path / "iam" / "train.csv")
    assert len(train) == 3 and expected_text("a01-000u-02") not in {row.text for row in train}
    assert "(1 with 'err' segmentation left out)" in log

    code, log = run_main([*args, "--segmentation", "all"], {}, capsys)
    assert code == 0, log
    assert len(read_csv_rows(tmp_path / "iam" / "train.csv")[0]) == 4


def test_characters_unseen_in_training_drop_those_evaluation_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archives = iam_archives(texts={"a01-003u-01": ("ok", "Quite|so")})
    folder = write_archives(tmp_path / "downloads", archives)
    args = ["--archives-dir", str(folder), "--output-dir", str(tmp_path / "iam"), "--expected-counts", "none"]
    code, log = run_main(args, {}, capsys)
    assert code == 0, log
    assert "1 validation1 line(s) hold characters absent from the training lines: 'Q' x1" in log
    config = json.loads((tmp_path / "iam" / "config_iam.json").read_text(encoding="utf-8"))
    assert config["on_invalid_rows"] == "drop"
    assert [row.text for row in read_csv_rows(tmp_path / "iam" / "validation1.csv")[0]][1] == "Quite so"


def test_split_sizes_are_checked_against_the_published_ones_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archives = write_archives(tmp_path / "downloads", iam_archives())
    code, log = run_main(["--archives-dir", str(archives), "--output-dir", str(tmp_path / "iam")], {}, capsys)
    assert code == DataError.exit_status
    assert "train 4 instead of 6161" in log and "test 1 instead of 1861" in log
    assert "--expected-counts none" in log
    assert not (tmp_path / "iam" / "lines").exists()


def test_missing_split_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    two_lists = iam_archives(split_names=["trainset.txt", "validationset1.txt"])
    archives = write_archives(tmp_path / "downloads", two_lists)
    code, log = run_main(["--archives-dir", str(archives), "--output-dir", str(tmp_path / "iam")], {}, capsys)
    assert code == DataError.exit_status
    assert "has no validationset2.txt, testset.txt" in log and "largeWriterIndependent" in log


def test_missing_archive_in_archives_dir_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archives = iam_archives()
    del archives[iam.ASCII_ARCHIVE]
    folder = write_archives(tmp_path / "downloads", archives)
    code, log = run_main(
        ["--archives-dir", str(folder), "--output-dir", str(tmp_path / "iam"), "--expected-counts", "none"],
        {},
        capsys,
    )
    assert code == 1
    assert "ascii.tgz not found" in log and "--archives-dir" in log


def test_missing_credentials_say_what_to_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, log = run_main(["--output-dir", str(tmp_path / "iam")], {"IAM_USER": USER}, capsys)
    assert code == 1
    assert "IAM_USER and IAM_PWD" in log and "--archives-dir" in log


def test_network_down_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    args = [
        "--output-dir",
        str(tmp_path / "iam"),
        "--base-url",
        url,
        "--splits-url",
        f"{url}/s.zip",
        "--retries",
        "1",
    ]
    code, log = run_main(args, GOOD_ENV, capsys)
    assert code == 1
    assert "cannot reach the server" in log and "check your network connection" in log
    assert_no_secret(log, tmp_path)


def test_credentials_are_not_sent_to_another_host_on_redirect(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archives = iam_archives()
    with IamServer(archives) as first, IamServer(archives) as other:
        other_url = f"http://localhost:{other.httpd.server_address[1]}{SPLITS_PATH}"
        first.redirects[SPLITS_PATH] = other_url
        code, log = run_main(["--output-dir", str(tmp_path / "iam"), *first.args()], GOOD_ENV, capsys)
    assert code == 1 and "HTTP 401" in log
    assert other.requests and all(auth is None for _, _, auth, _ in other.requests)


def test_credentials_in_url_are_refused_without_echoing_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"https://{USER}:{PASSWORD}@example.org/data/"
    code, log = run_main(["--output-dir", str(tmp_path / "iam"), "--base-url", url], GOOD_ENV, capsys)
    assert code == 1 and "must not contain a user name or password" in log
    assert_no_secret(log)


def test_damaged_archive_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archives = iam_archives()
    archives[iam.LINES_ARCHIVE] = archives[iam.LINES_ARCHIVE][:-200]
    folder = write_archives(tmp_path / "downloads", archives)
    code, log = run_main(
        ["--archives-dir", str(folder), "--output-dir", str(tmp_path / "iam"), "--expected-counts", "none"],
        {},
        capsys,
    )
    assert code == DataError.exit_status
    assert "lines.tgz is damaged" in log and "delete it" in log


def test_malicious_archive_from_the_server_is_refused(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    archives = iam_archives(lines_extra=[file_entry("../../evil.txt", b"pwned")])
    output = tmp_path / "work" / "iam"
    with IamServer(archives) as running:
        code, log = run_main(
            ["--output-dir", str(output), "--expected-counts", "none", *running.args()], GOOD_ENV, capsys
        )
    assert code == DataError.exit_status
    assert "refused, nothing was extracted" in log and "'../../evil.txt'" in log
    assert not list(tmp_path.rglob("evil.txt"))
    assert not (output / "lines").exists() or not any(p.is_file() for p in (output / "lines").rglob("*"))


def char_device(name: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
    return info, None


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        ([file_entry("../escaped.txt", b"x")], "'..' in its path"),
        ([file_entry("a01/../../escaped.txt", b"x")], "'..' in its path"),
        ([file_entry("{outside}/escaped.txt", b"x")], "absolute path"),
        (
            [link_entry("a01/link", "../../outside"), file_entry("a01/link/escaped.txt", b"x")],
            "symbolic link",
        ),
        ([link_entry("a01/link", "{outside}")], "symbolic link"),
        ([link_entry("a01/hard", "../outside/escaped.txt", tarfile.LNKTYPE)], "hard link"),
        ([char_device("a01/null")], "device or pipe"),
        ([link_entry("a01/up", ".."), link_entry("a01/up/esc", "..")], "through the symbolic link 'a01/up'"),
        ([link_entry("a01/up", ".."), link_entry("a01/l2", "up/../../outside")], "through the symbolic link"),
        ([link_entry("a01/up", ".."), file_entry("a01/up/../escaped.txt", b"x")], "'..' in its path"),
        ([link_entry("a01/up", ".."), file_entry("a01/up/a01/escaped", b"x")], "through the symbolic link"),
    ],
    ids=[
        "parent",
        "nested-parent",
        "absolute",
        "symlink-out",
        "absolute-symlink",
        "hardlink-out",
        "device",
        "link-chain",
        "link-target-through-link",
        "parent-after-link",
        "file-through-link",
    ],
)
def test_unsafe_entries_are_refused_and_nothing_is_written(
    tmp_path: Path, entries: list[tuple[tarfile.TarInfo, bytes | None]], reason: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    for info, _ in entries:
        info.name = info.name.format(outside=outside)
        info.linkname = info.linkname.format(outside=outside)
    archive = tmp_path / "lines.tgz"
    archive.write_bytes(tgz(lines_entries() + entries))
    target = tmp_path / "data" / "lines"
    with pytest.raises(DataError, match="refused, nothing was extracted") as error:
        iam.extract_archive(archive, target)
    assert reason in str(error.value)
    assert not target.exists()
    assert not list(outside.iterdir())
    assert not list(tmp_path.rglob("escaped.txt"))


def test_links_inside_the_target_are_extracted(tmp_path: Path) -> None:
    archive = tmp_path / "lines.tgz"
    archive.write_bytes(tgz([*lines_entries(), link_entry("a01/first.png", "a01-000u/a01-000u-00.png")]))
    iam.extract_archive(archive, tmp_path / "lines")
    link = tmp_path / "lines" / "a01" / "first.png"
    assert link.is_symlink()
    assert link.read_bytes() == (tmp_path / "lines/a01/a01-000u/a01-000u-00.png").read_bytes()


def test_short_training_run_on_the_prepared_data(
    server: IamServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tf_crnn.train.trainer import train

    monkeypatch.chdir(tmp_path)
    args = ["--output-dir", "data/iam", "--expected-counts", "none", *server.args()]
    code, log = run_main(args, GOOD_ENV, capsys)
    assert code == 0, log
    config = json.loads(Path("data/iam/config_iam.json").read_text(encoding="utf-8"))
    assert config["csv_files_train"] == ["data/iam/train.csv"]
    tiny = {
        "input_shape": [32, 256],
        "cnn_features_list": [8, 16],
        "cnn_kernel_size": [3, 3],
        "cnn_stride_size": [[1, 1], [1, 1]],
        "cnn_pool_size": [[2, 2], [2, 2]],
        "cnn_batch_norm": [False, False],
        "rnn_units": [16],
        "n_epochs": 1,
        "train_batch_size": 2,
        "eval_batch_size": 2,
        "data_augmentation": False,
        "tensorboard": False,
        "output_model_dir": str(tmp_path / "model"),
    }
    result = train(Params.from_dict({**config, **tiny}))
    assert result["cer"] >= 0
    assert (tmp_path / "model").is_dir()
    assert_no_secret(capsys.readouterr().out, tmp_path)
