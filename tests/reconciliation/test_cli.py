"""`jubao reconcile` refuses bad input cleanly (no traceback), and prints its text report."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import jubao


def test_a_bad_date_is_a_usage_error(tmp_path: Path) -> None:
    result = jubao("--data-dir", str(tmp_path), "reconcile", "--date", "2026-02-30")
    assert result.exit_code == 2
    assert "'2026-02-30' is not a date YYYY-MM-DD" in result.output
    assert "Traceback" not in result.output


def test_the_date_is_required_and_the_channel_must_be_known(tmp_path: Path) -> None:
    assert jubao("--data-dir", str(tmp_path), "reconcile").exit_code == 2
    unknown = jubao("--data-dir", str(tmp_path), "reconcile", "--date", "2026-01-01",
                    "--channel", "paypal")  # fmt: skip
    assert unknown.exit_code == 2 and "paypal" in unknown.output


def test_without_channel_settings_it_says_what_is_missing(tmp_path: Path) -> None:
    result = jubao(
        "--data-dir", str(tmp_path), "reconcile", "--date", "2026-01-01",
        env={"JUBAO_ALLOW_PLAINTEXT_SECRETS": "true"},
    )  # fmt: skip
    assert result.exit_code == 1
    assert "missing WeChat Pay settings" in result.output
    assert "Traceback" not in result.output
