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


def test_ask_json_explains_classifier_nearest_examples_and_out_of_scope() -> None:
    questions = ["准考证号码想不起来了咋整", "今天天气怎么样", "成绩"]
    result = run_cli("ask", "--json", "-", stdin="\n".join(questions) + "\n")
    assert result.returncode == 0, result.stderr
    lost, weather, vague = (json.loads(line) for line in result.stdout.splitlines())
    for row in (lost, weather, vague):
        assert {"learned", "nearest", "in_scope", "gate", "matched", "candidates"} <= set(row)
        assert isinstance(row["gate"], float | int)
        assert len(row["nearest"]) <= 3
        for topic, similarity, example in row["nearest"]:
            assert isinstance(topic, str) and 0 < similarity <= 1 and example
    assert lost["learned"][0][0] == "lost_ticket"
    assert lost["nearest"][0][0] == "lost_ticket"
    assert abs(sum(p for _, p in lost["learned"]) - 1) < 0.2  # the top five of a distribution
    assert lost["topic"] == "lost_ticket" and weather["topic"] is None
    # the scope model: the lost ticket reads as this exam's question, the weather does not
    assert isinstance(lost["in_scope"], float) and isinstance(weather["in_scope"], float)
    assert weather["in_scope"] < weather["gate"] <= lost["in_scope"] + 2 * lost["score"] / 4


def test_ask_plain_explains_the_match() -> None:
    result = run_cli("ask", "官网打不开")
    assert result.returncode == 0, result.stderr
    assert "→ site_slow" in result.stdout
    assert "打不开[exact]" in result.stdout
