"""Every fact of the source guide stays reachable, in the topic a reader would look for it.

The phrases are the guide's facts (offices, steps, windows, materials), not its wording; if
an admin rewrites a topic, these tell whether something the guide says has been dropped.
"""

from __future__ import annotations

import pytest

from bot.channels import CHANNELS
from bot.content import load_content
from bot.core.text import markup
from tests.conftest import CONTENT_DIR

FACTS: dict[str, list[str]] = {
    "authority": ["山西省人力资源和社会保障厅", "山西省人事考试中心", "阳泉", "省级", "转发"],
    "prepare": ["人事考试", "准考证号", "身份证号", "姓名", "电脑", "Chrome", "拥堵"],
    "steps": [
        "sx.hrss.gov.cn",
        "搜索引擎",
        "钓鱼",
        "成绩查询",
        "考试查询",
        "办事服务",
        "浮动窗口",
        "二级安装工程造价工程师",
        "账号和密码",
        "《建设工程造价管理基础知识》",
        "《建设工程计量与计价实务（安装工程）》",
        "合格",
        "截图",
        "打印",
    ],
    "links": [
        "山西省人力资源和社会保障厅",
        "山西省人事考试中心",
        "阳泉市人力资源和社会保障局",
        "中国人事考试网",
        "收藏夹",
        "直接输入",
        "以官方最新公布为准",
    ],
    "site_slow": ["刷新", "高峰", "浏览器", "网络"],
    "lost_ticket": ["短信", "邮箱", "打印准考证", "阳泉市人事考试管理部门", "身份证号", "最后手段"],
    "no_result": ["无此人成绩", "大小写", "考试项目", "漏登", "错登"],
    "review": [
        "5至15个工作日",
        "以当年官方通知为准",
        "登记、汇总、录入",
        "不重新评阅",
        "书面复核申请",
        "复核费用",
    ],
    "pass_line": ["60%", "山西省", "合格标准文件"],
    "audit": ["考后资格审核", "学历证明", "工作年限证明", "规定时间", "成绩作废"],
    "certificate": [
        "中国人事考试网",
        "同等法律效力",
        "阳泉市人力资源和社会保障局",
        "现场领取",
        "邮寄",
    ],
    "tracking": ["继续教育", "学时", "计价依据", "注册、变更、延续", "收藏夹"],
}


@pytest.mark.parametrize("topic", sorted(FACTS))
def test_guide_facts_are_in_their_topic(topic: str) -> None:
    content = load_content(CONTENT_DIR, CHANNELS)
    text = "\n".join(m.plain_text for m in content.topics[topic].messages)
    missing = [fact for fact in FACTS[topic] if fact not in text]
    assert not missing, f"/{topic} no longer mentions: {missing}"


def test_welcome_says_not_official_and_names_the_official_sources() -> None:
    welcome = markup(load_content(CONTENT_DIR, CHANNELS).ui.texts.welcome).plain_text
    assert "不是官方渠道" in welcome
    assert "山西省人力资源和社会保障厅" in welcome and "山西省人事考试中心" in welcome
