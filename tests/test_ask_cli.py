"""`python -m bot ask` contract (DESIGN.md): one JSON line per question, same order."""

from __future__ import annotations

import json

from tests.test_console import run_cli


def test_ask_json_from_stdin_keeps_order_and_fields() -> None:
    questions = ["准考正号忘了咋办", "今天天气怎么样", "多少分及格", "你好"]
    result = run_cli("ask", "--json", "-", stdin="\n".join(questions) + "\n")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["question"] for r in rows] == questions
    assert [r["topic"] for r in rows] == ["lost_ticket", None, "pass_line", None]
    for row in rows:
        assert {"question", "topic", "score", "answer"} <= set(row)
        assert isinstance(row["score"], float | int)
    assert "忘记准考证号怎么办" in rows[0]["answer"]
    assert "<b>" not in rows[0]["answer"]
    assert "回答不了" in rows[1]["answer"]
    assert {"keyword": "准考证号", "how": "pinyin"}.items() <= rows[0]["matched"][0].items()


def test_ask_plain_explains_the_match() -> None:
    result = run_cli("ask", "官网打不开")
    assert result.returncode == 0, result.stderr
    assert "→ site_slow" in result.stdout
    assert "打不开[exact]" in result.stdout
