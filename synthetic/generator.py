"""Synthetic 政府信息公开工作年度报告 with a known answer, for property tests, fuzzing and benchmarks.

Pure Python and deterministic for a seed (only `random.Random` is used). Two steps:

* `make_truth(rng, template)` draws a report's *content*: organisation, year, publication date and
  every cell of the three statutory tables of format "2019" or "2021" (value, printed text, unit),
  built leaves-first so that the format's linear identities hold (or, with consistent=False, with
  exactly one number perturbed so that at least one identity breaks).
* `render(truth, layout, rng)` prints it in one of the text layouts found in real copies
  (`LAYOUTS`), optionally with the label variants real reports show, and records in the truth what
  was printed (`truth.layout`, `truth.variants`, `truth.options`; null cells and traditional
  characters change the printed text, so `raw_value` is final only after rendering).

`generate(seed)` does both; `corpus(n, seed)` yields many reports for benchmarks.
Truth cells are dicts {table, row_path, column_path, value (float | None), raw_value (str), unit};
`raw_value` is exactly the printed cell text with surrounding whitespace (incl. U+00A0) stripped.
"""
from __future__ import annotations

import html as _html
import random
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterator

from transforms.formats import FORMATS, Format

LAYOUTS = ("tab_cells", "tsv", "pipe", "pipe_cells", "line_cells", "one_line", "pdf_text", "html")
TEMPLATES = ("2019", "2021")
# Layouts where a blank cell keeps its position (a null may be printed as nothing).
POSITIONAL_LAYOUTS = ("tab_cells", "tsv", "pipe", "pipe_cells", "html")
NIL_TOKENS = ("/", "-", "—")

SECTION_HEADINGS = (
    "一、总体情况",
    "二、主动公开政府信息情况",
    "三、收到和处理政府信息公开申请情况",
    "四、政府信息公开行政复议、行政诉讼情况",
    "五、存在的主要问题及改进情况",
    "六、其他需要报告的事项",
)
BALANCE_NOTE = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"

# Every label variant `render` may apply (names recorded in truth.variants).
VARIANTS = (
    "halfwidth_punct",      # （一）→(一), ：→:, ，→,
    "label_spaces",         # 商业 企业, （三） 不予 公开
    "header_linebreaks",    # 本年新\n制作数量 (a space or <br/> where a cell cannot hold a line break)
    "vertical_headers",     # 自\n然\n人, 总\n计, 结\n\xa0果\n\xa0维\n\xa0持 (tab_cells only)
    "row_notes",            # 规章(设区的市、自治州人民政府应提供相关数据)
    "legacy_word",          # 2021 table prints 规范性文件 instead of 行政规范性文件
    "traditional",          # the whole report in traditional characters (OpenCC s2t)
    "dang_an",              # traditional mirror writes 檔案 for 文件
    "pinyin",               # mirror inserts pinyin after some characters: 數(shù)
    "straight_quotes",      # 危及"三安全一稳定" instead of curly quotes
    "alias_prohibited",     # 2.其他法律法规禁止公开
    "drop_first_caption",   # table 二 starts without 第二十条第（一）项
    "dropped_char",         # one character lost in one long row label of table 二 or 三
    "nbsp_padding",         # values padded with U+00A0 ("\xa00", "0\xa0")
    "fee_alias",            # 本年度收费金额（单位：万元）
)


# --------------------------------------------------------------------------------------------
# Truth


@dataclass
class Truth:
    template: str
    organization: str
    report_year: int
    publication_date: str                 # ISO yyyy-mm-dd
    cells: list[dict]
    consistent: bool = True
    broken: dict | None = None            # the perturbed cell when consistent=False
    procurement_unit: str | None = None   # 元 / 万元 / None (2019 only)
    procurement_unit_where: str = "none"  # "header" | "cell" | "none"
    procurement_header: str = "采购总金额"
    layout: str | None = None             # set by render
    variants: list[str] = field(default_factory=list)   # label variants applied by render
    options: list[str] = field(default_factory=list)    # layout sub-styles chosen by render

    @property
    def format(self) -> Format:
        return FORMATS[self.template]

    def cell(self, table: str, row_path: str, column_path: str) -> dict:
        return self._index()[(table, row_path, column_path)]

    def _index(self) -> dict:
        return {(c["table"], c["row_path"], c["column_path"]): c for c in self.cells}

    def addresses(self) -> list[tuple[str, str, str]]:
        return [(c["table"], c["row_path"], c["column_path"]) for c in self.cells]


def identity_violations(truth: Truth) -> list[str]:
    """Instances of the format's identities that do not hold ("id@path"); null counts as 0."""
    fmt = truth.format
    vals = {(c["table"], c["row_path"], c["column_path"]): (c["value"] or 0.0) for c in truth.cells}
    out = []
    for ident in fmt.identities:
        t = fmt.tables[ident.table]
        if ident.for_each == "column":
            for col in t.column_paths:
                lhs = sum(vals[(t.name, r, col)] for r in ident.lhs)
                rhs = sum(vals[(t.name, r, col)] for r in ident.rhs)
                if abs(lhs - rhs) > 1e-9:
                    out.append(f"{ident.id}@{col}")
        else:
            for row in t.row_paths:
                lhs = sum(vals[(t.name, row, c)] for c in ident.lhs)
                rhs = sum(vals[(t.name, row, c)] for c in ident.rhs)
                if abs(lhs - rhs) > 1e-9:
                    out.append(f"{ident.id}@{row}")
    return out


# --------------------------------------------------------------------------------------------
# Content

_SYL = "江河安宁平兴华和东西南北新丰长清云阳山水泉林城桥石光明德福康泰永定嘉瑞金玉春秋海湖溪沙龙凤阜鹤宝"
_BUREAUS = ("发展和改革局", "财政局", "审计局", "民政局", "人力资源和社会保障局", "自然资源局", "生态环境局",
            "住房和城乡建设局", "交通运输局", "卫生健康委员会", "市场监督管理局", "政务服务数据管理局",
            "教育局", "农业农村局", "司法局", "应急管理局", "文化广电旅游局", "统计局")


def _name(rng: random.Random, n: int = 2) -> str:
    return "".join(rng.choice(_SYL) for _ in range(n))


def make_organization(rng: random.Random) -> str:
    city, district, town = _name(rng), _name(rng), _name(rng)
    kind = rng.randrange(6)
    if kind == 0:
        return f"{city}市{district}区{town}街道办事处"
    if kind == 1:
        return f"{city}市{district}区{town}镇人民政府"
    if kind == 2:
        return f"{city}市{district}区{rng.choice(_BUREAUS)}"
    if kind == 3:
        return f"{city}市{district}县人民政府"
    if kind == 4:
        return f"{city}市{rng.choice(_BUREAUS)}"
    return f"{district}县{town}乡人民政府"


def _count(rng: random.Random, zero: float = 0.45) -> int:
    r = rng.random()
    if r < zero:
        return 0
    if r < 0.9:
        return rng.randint(1, 50)
    if r < 0.98:
        return rng.randint(51, 5000)
    return rng.randint(5001, 10**6)


def _small(rng: random.Random, zero: float, hi: int) -> int:
    r = rng.random()
    if r < zero:
        return 0
    if r < 0.93:
        return rng.randint(1, hi)
    return rng.randint(hi + 1, hi * 20)


def _fmt_decimal(x: float, decimals: int) -> str:
    return str(int(round(x))) if decimals == 0 else f"{x:.{decimals}f}"


def make_truth(rng: random.Random, template: str, *, consistent: bool = True, blanks: float = 0.05) -> Truth:
    """A random report's content in format `template` ("2019" | "2021")."""
    if template not in TEMPLATES:
        raise ValueError(f"template must be one of {TEMPLATES}, not {template!r}")
    fmt = FORMATS[template]
    if template == "2019":
        year = rng.choice((2019, 2019, 2020, 2020, 2020, 2021, 2022, 2023))
    else:
        year = rng.randint(2021, 2025)
    month = rng.randint(1, 3)
    day = rng.randint(1, 28)
    truth = Truth(template=template, organization=make_organization(rng), report_year=year,
                  publication_date=f"{year + 1:04d}-{month:02d}-{day:02d}", cells=[], consistent=consistent)

    # Procurement amount unit (2019 table 二（九）).
    if template == "2019":
        where = rng.choice(("header", "header", "cell", "cell", "none"))
        truth.procurement_unit_where = where
        if where == "header":
            truth.procurement_unit = rng.choice(("万元", "元"))
            truth.procurement_header = rng.choice({
                "万元": ("采购总金额（单位：万元）", "采购总金额（万元，保留四位小数）", "采购总金额（单位：万元，保留4位小数）"),
                "元": ("采购总金额（单位：元）", "采购总金额（元）"),
            }[truth.procurement_unit])
        elif where == "cell":
            truth.procurement_unit = rng.choice(("万元", "元"))

    cells: list[dict] = []

    def add(table: str, row: str, col: str, value: float | None, raw: str, unit: str | None) -> None:
        cells.append({"table": table, "row_path": row, "column_path": col, "value": value,
                      "raw_value": raw, "unit": unit})

    # ---- table 二: no identities; any cell may be null.
    t2 = fmt.tables["active_disclosure"]
    for block in t2.blocks:
        for row in block.rows:
            prev_items = None
            for col in block.columns:
                if col.kind == "count":
                    v = _count(rng)
                    if col.label == "上一年项目数量":
                        prev_items = v
                    raw = str(v)
                    val: float | None = float(v)
                    unit = col.unit
                elif col.kind == "delta":
                    d = rng.choice((0, 0, 0, rng.randint(1, 30), -rng.randint(1, 30)))
                    if prev_items is not None and d < -prev_items:
                        d = -prev_items
                    raw = "0" if d == 0 else (f"+{d}" if d > 0 else str(d))
                    val, unit = float(d), col.unit
                else:  # amount
                    if rng.random() < 0.35:
                        x, dec = 0.0, 0
                    else:
                        dec = rng.choice((0, 1, 2, 3, 4))
                        x = round(rng.uniform(0.001, rng.choice((1, 100, 5000, 10**6))), dec)
                        if dec and x == 0:
                            x = 10 ** -dec
                    raw = _fmt_decimal(x, dec)
                    if col.label == "采购总金额":
                        unit = truth.procurement_unit
                        if truth.procurement_unit_where == "cell":
                            if truth.procurement_unit == "元":
                                raw = str(0 if x == 0 else rng.randint(100, 5_000_000))
                            raw += truth.procurement_unit
                    else:
                        unit = col.unit
                    val = float(re.sub(r"[^0-9.+-]", "", raw))
                if rng.random() < blanks and not (col.label == "采购总金额" and truth.procurement_unit_where == "cell"):
                    val, raw = None, rng.choice(("", "", "/", "-", "—"))
                add(t2.name, row.path, col.path, val, raw, unit)

    # ---- table 三: leaves first, then totals.
    t3 = fmt.tables["applications"]
    rows3 = t3.row_paths
    cols3 = t3.column_paths
    parts = cols3[:-1]
    total_col = cols3[-1]
    outcome_total = "三、本年度办理结果 > （七）总计"
    new_row, carried_row, forward_row = rows3[0], rows3[1], rows3[-1]
    outcome_rows = [r for r in rows3 if r.startswith("三、") and r != outcome_total]
    busy = rng.random()  # how much this body receives
    hi = 3 if busy < 0.5 else (30 if busy < 0.9 else 400)
    v3: dict[tuple[str, str], int] = {}
    for ci, col in enumerate(parts):
        zero = 0.55 if ci == 0 else 0.85
        for r in outcome_rows:
            v3[(r, col)] = _small(rng, zero, hi)
        v3[(outcome_total, col)] = sum(v3[(r, col)] for r in outcome_rows)
        v3[(forward_row, col)] = _small(rng, 0.7, max(1, hi // 3))
        carried = _small(rng, 0.7, max(1, hi // 3))
        avail = v3[(outcome_total, col)] + v3[(forward_row, col)]
        carried = min(carried, avail)
        v3[(carried_row, col)] = carried
        v3[(new_row, col)] = avail - carried
    for r in rows3:
        v3[(r, total_col)] = sum(v3[(r, c)] for c in parts)
    for r in rows3:
        for c in cols3:
            v = v3[(r, c)]
            add(t3.name, r, c, float(v), str(v), "count")

    # ---- table 四
    t4 = fmt.tables["review_litigation"]
    cols4 = t4.column_paths
    for g in range(3):
        group = cols4[g * 5:(g + 1) * 5]
        vals = [_small(rng, 0.7, 5 if busy < 0.9 else 60) for _ in range(4)]
        for c, v in zip(group, vals + [sum(vals)]):
            add(t4.name, "", c, float(v), str(v), "count")

    # Nulls in 三/四 only where the value is 0, so the identities still hold (null counts as 0).
    for c in cells:
        if c["table"] != "active_disclosure" and c["value"] == 0 and rng.random() < blanks * 2:
            c["value"], c["raw_value"] = None, rng.choice(("", "", "/", "-", "—"))

    truth.cells = cells
    if not consistent:
        _break_identity(rng, truth)
    return truth


def _break_identity(rng: random.Random, truth: Truth) -> None:
    """Perturb one printed number of table 三 or 四 so that at least one identity fails."""
    candidates = [c for c in truth.cells if c["table"] != "active_disclosure" and c["value"] is not None]
    c = rng.choice(candidates)
    old = int(c["value"])
    delta = rng.randint(1, 9)
    new = old - delta if (old >= delta and rng.random() < 0.5) else old + delta
    c["value"], c["raw_value"] = float(new), str(new)
    truth.broken = {"table": c["table"], "row_path": c["row_path"], "column_path": c["column_path"],
                    "was": old, "now": new}


# --------------------------------------------------------------------------------------------
# Prose

_PROSE = (
    "认真贯彻落实《中华人民共和国政府信息公开条例》，坚持以公开为常态、不公开为例外，不断提高政府工作透明度",
    "成立政务公开工作领导小组，由主要负责同志任组长，分管负责同志任副组长，各科室负责人为成员",
    "严格落实信息发布审核制度，做到先审查、后公开，一事一审、全面审查",
    "围绕群众关心关注的热点问题，及时准确发布权威信息，积极回应社会关切",
    "加强政府网站和政务新媒体建设管理，拓宽信息公开渠道，提升公开实效",
    "规范依申请公开办理流程，做到依法依规、按时答复，切实保障申请人合法权益",
    "深入推进基层政务公开标准化规范化建设，梳理公开事项清单，明确公开主体和公开时限",
    "加强政策解读工作，坚持政策文件与解读材料同步组织、同步审签、同步部署",
    "持续做好财政预决算、重大建设项目、公共资源配置等重点领域信息公开",
    "完善政府信息管理制度，健全政府信息公开属性源头认定机制",
    "组织开展政务公开业务培训，提升工作人员的公开意识和业务能力",
    "将政务公开工作纳入年度绩效考核，强化监督检查和问责",
    "利用公告栏、电子显示屏、微信公众号等载体，方便群众及时获取政府信息",
    "对照上级要求开展自查自纠，对发现的问题及时整改到位",
    "加强政务服务事项标准化建设，编制完善办事指南，推动服务事项网上可办",
)
_PROBLEMS = (
    "公开内容的深度和广度仍需拓展，部分信息更新不够及时",
    "政策解读形式较为单一，图文解读和视频解读数量偏少",
    "工作人员业务能力有待提高，对公开属性的把握还不够精准",
    "回应关切的主动性和针对性还需加强",
)
_IMPROVE = (
    "进一步加强学习培训，提升工作人员业务水平",
    "进一步规范信息发布流程，确保信息公开及时、准确、全面",
    "进一步丰富解读形式，增强政策解读的针对性和可读性",
    "进一步畅通依申请公开渠道，依法依规做好答复工作",
)


def _sentences(rng: random.Random, bank: tuple[str, ...], k: int) -> str:
    return "。".join(rng.sample(bank, min(k, len(bank)))) + "。"


def _prose(truth: Truth, rng: random.Random, pad: int) -> dict[str, list[str]]:
    y = truth.report_year
    org = truth.organization
    notice = "国办公开办函〔2019〕60号" if truth.template == "2019" else "国办公开办函〔2021〕30号"
    if rng.random() < 0.2:  # preambles cite the wrong notice
        notice = "国办公开办函〔2021〕30号" if truth.template == "2019" else "国办公开办函〔2019〕60号"
    preamble = (f"本年度报告根据《中华人民共和国政府信息公开条例》（以下简称《条例》）和《国务院办公厅政府信息与政务公开办公室"
                f"关于政府信息公开工作年度报告有关事项的通知》（{notice}）有关要求编制而成。报告主要包括总体情况、主动公开政府信息情况、"
                f"收到和处理政府信息公开申请情况、政府信息公开行政复议和行政诉讼情况、存在的主要问题及改进情况和其他需要报告的事项。"
                f"本报告所列统计数据期限自{y}年1月1日起至{y}年12月31日止。")
    general = [f"{y}年，{org}{_sentences(rng, _PROSE, 3)}"]
    heads = ("主动公开情况", "依申请公开情况", "政府信息管理情况", "平台建设情况", "监督保障情况", "政策解读情况",
             "回应关切情况", "政务服务情况", "基层政务公开情况", "教育培训情况")
    for i, head in enumerate(rng.sample(heads, min(pad, len(heads)))):
        general.append(f"（{'一二三四五六七八九十'[i]}）{head}。" + _sentences(rng, _PROSE, 3))
    problems = [f"{y}年，我单位政府信息公开工作取得了一定成效，但仍存在一些不足：{_sentences(rng, _PROBLEMS, 2)}",
                f"下一步，我们将{_sentences(rng, _IMPROVE, 3)}"]
    other = [rng.choice((f"{y}年，本单位未收取政府信息公开信息处理费。", "无其他需要报告的事项。",
                         f"{y}年，本单位未发生政府信息公开信息处理费收费情况，无其他需要报告的事项。"))]
    return {"preamble": [preamble], "general": general, "problems": problems, "other": other}


# --------------------------------------------------------------------------------------------
# Labels and variants

_ROW_NOTES = {
    "规章": "(设区的市、自治州人民政府应提供相关数据)",
    "规范性文件": "(行政机关制定发布的决定、公告、通告、意见、通知，以及标题采用“规定”“办法”“细则”等字样的公文)",
    "行政规范性文件": "(行政机关制定发布的涉及公民、法人和其他组织权利义务的公文)",
    "行政许可": "(本年度办理的行政许可事项)",
    "行政处罚": "(含简易程序)",
    "行政事业性收费": "(按实际收费项目统计)",
}
_SPACED = {  # label → printed with spaces
    "商业企业": "商业 企业", "科研机构": "科研 机构", "社会公益组织": "社会 公益组织",
    "法律服务机构": "法律 服务机构", "（三）不予公开": "（三） 不予 公开", "（四）无法提供": "（四） 无法 提供",
    "（五）不予处理": "（五） 不予 处理", "（六）其他处理": "（六） 其他 处理",
}
_BREAKS = {  # header label → split point
    "本年新制作数量": 3, "本年新公开数量": 3, "对外公开总数量": 4, "上一年项目数量": 3, "处理决定数量": 4,
    "本年制发件数": 4, "本年废止件数": 4, "现行有效件数": 4, "本年处理决定数量": 6, "采购项目数量": 4,
}
_PINYIN = {"數": "shù", "據": "jù", "規": "guī", "區": "qū", "鎮": "zhèn", "發": "fā", "態": "tài", "網": "wǎng",
           "範": "fàn", "處": "chǔ"}
_HALF = str.maketrans({"（": "(", "）": ")", "：": ":", "，": ","})
_CJK = re.compile(r"[\u4e00-\u9fff]")
_NUMBERING = re.compile(r"^(?:（[一二三四五六七八九十]+）|\d+\.|[一二三四五六七八九十]+、)?")


@lru_cache(maxsize=1)
def _s2t():
    import opencc
    return opencc.OpenCC("s2t.json")


class _Labels:
    """Printed labels of one report (variants applied)."""

    def __init__(self, truth: Truth, rng: random.Random, variants: set[str], layout: str):
        self.t = truth
        self.v = variants
        self.layout = layout
        self.rng = rng
        self.noted: set[str] = set()
        self.dropped: str | None = None
        if "row_notes" in variants:
            keys = [k for k in _ROW_NOTES if k in self._t2_row_labels()]
            self.noted = set(rng.sample(keys, rng.randint(1, min(3, len(keys)))))
        if "dropped_char" in variants:
            cands = [lab for lab in self._t2_row_labels() + self._t3_leaf_labels()
                     if len(_CJK.findall(self._stem(lab)[len(_NUMBERING.match(lab).group(0)):])) >= 5
                     and lab not in self.noted
                     and not (lab == "行政规范性文件" and "legacy_word" in variants)]
            self.dropped = rng.choice(cands)
            start = len(_NUMBERING.match(self.dropped).group(0))
            pos = [i for i, ch in enumerate(self.dropped) if i >= start and _CJK.match(ch)
                   and i < len(self._stem(self.dropped))]
            i = rng.choice(pos)
            self.dropped_as = self.dropped[:i] + self.dropped[i + 1:]

    def _t2_row_labels(self) -> list[str]:
        return [r.label for b in self.t.format.tables["active_disclosure"].blocks for r in b.rows]

    def _t3_leaf_labels(self) -> list[str]:
        return [r.label for r in self.t.format.tables["applications"].blocks[0].rows]

    @staticmethod
    def _stem(label: str) -> str:
        """The label without its numbering and without a trailing parenthetical note."""
        rest = label[len(_NUMBERING.match(label).group(0)):]
        return label[:len(label) - len(rest)] + rest.split("（", 1)[0]

    def _finish(self, s: str) -> str:
        if "halfwidth_punct" in self.v:
            s = s.translate(_HALF)
        return s

    def row(self, label: str) -> str:
        """A data row's printed label (table 二 or 三)."""
        s = label
        if "legacy_word" in self.v and s == "行政规范性文件":
            s = "规范性文件"
        if s == "2.其他法律行政法规禁止公开" and "alias_prohibited" in self.v:
            s = "2.其他法律法规禁止公开"
        if "straight_quotes" in self.v:
            s = s.replace("“", '"').replace("”", '"')
        if self.dropped == label:
            s = self.dropped_as
        if label in self.noted:
            s += _ROW_NOTES[label]
        return self._finish(s)

    def group(self, label: str) -> str:
        s = _SPACED.get(label, label) if "label_spaces" in self.v else label
        return self._finish(s)

    def header(self, label: str) -> str:
        """A column header; may contain a line break ("\n") where the variant asks for it."""
        s = label
        if s == "本年收费金额（单位：万元）" and "fee_alias" in self.v:
            s = "本年度收费金额（单位：万元）"
        if "label_spaces" in self.v and s in _SPACED:
            s = _SPACED[s]
        elif "header_linebreaks" in self.v and s in _BREAKS:
            k = _BREAKS[s]
            s = s[:k] + "\n" + s[k:]
        return self._finish(s)

    def caption(self, label: str) -> str:
        return self._finish(label)

    def text(self, s: str) -> str:
        return self._finish(s)


def _choose_variants(rng: random.Random, truth: Truth, layout: str) -> set[str]:
    v: set[str] = set()
    p = {
        "halfwidth_punct": 0.4, "label_spaces": 0.25, "header_linebreaks": 0.3, "vertical_headers": 0.4,
        "row_notes": 0.2, "legacy_word": 0.3, "traditional": 0.15, "straight_quotes": 0.2,
        "alias_prohibited": 0.15, "drop_first_caption": 0.12, "dropped_char": 0.12, "nbsp_padding": 0.3,
        "fee_alias": 0.15,
    }
    for name in VARIANTS:
        if name in p and rng.random() < p[name]:
            v.add(name)
    if truth.template != "2021":
        v.discard("legacy_word")
        v.discard("fee_alias")
    if layout != "tab_cells":
        v.discard("vertical_headers")
    if layout not in ("tab_cells", "tsv", "pipe", "html"):
        v.discard("nbsp_padding")
    if "traditional" in v:
        if rng.random() < 0.4:
            v.add("dang_an")
        if rng.random() < 0.4:
            v.add("pinyin")
    return v


# --------------------------------------------------------------------------------------------
# Logical tables (what each layout prints)


@dataclass
class _T2Block:
    caption: str | None
    header: list[str]          # 信息内容 + column headers
    rows: list[tuple[str, list[str]]]
    width: int                 # number of value columns


@dataclass
class _T3Row:
    groups: list[tuple[str, bool]]   # (printed group label, first row of the group)
    label: str
    values: list[str]


class _Model:
    def __init__(self, truth: Truth, lab: _Labels, rng: random.Random, pad_values: bool):
        fmt = truth.format
        idx = truth._index()
        self.t2: list[_T2Block] = []

        def printed(c: dict) -> str:
            s = c["raw_value"]
            if pad_values and s and rng.random() < 0.3:
                s = rng.choice(("\xa0" + s, s + "\xa0"))
            return s

        for bi, b in enumerate(fmt.tables["active_disclosure"].blocks):
            cap = lab.caption(b.caption)
            if bi == 0 and "drop_first_caption" in lab.v:
                cap = None
            heads = []
            for c in b.columns:
                h = c.label
                if h == "采购总金额":
                    h = truth.procurement_header
                heads.append(lab.header(h))
            rows = [(lab.row(r.label), [printed(idx[("active_disclosure", r.path, c.path)]) for c in b.columns])
                    for r in b.rows]
            self.t2.append(_T2Block(cap, [lab.header("信息内容")] + heads, rows, len(b.columns)))

        t3 = fmt.tables["applications"]
        self.t3: list[_T3Row] = []
        seen: set[str] = set()
        for r in t3.blocks[0].rows:
            groups = []
            for depth, g in enumerate(r.ancestors):
                key = " > ".join(r.ancestors[:depth + 1])
                groups.append((lab.group(g), key not in seen))
                seen.add(key)
            vals = [printed(idx[("applications", r.path, c)]) for c in t3.column_paths]
            self.t3.append(_T3Row(groups, lab.row(r.label), vals))
        self.t4 = [printed(idx[("review_litigation", "", c)]) for c in fmt.tables["review_litigation"].column_paths]
        self.note = lab.text(BALANCE_NOTE)
        h = lab.header
        self.applicants = [h("自然人"), h("法人或其他组织"), h("总计")]
        self.orgs = [h("商业企业"), h("科研机构"), h("社会公益组织"), h("法律服务机构"), h("其他")]
        self.results = [h("结果维持"), h("结果纠正"), h("其他结果"), h("尚未审结"), h("总计")]
        self.proceedings = [h("未经复议直接起诉"), h("复议后起诉")]


# --------------------------------------------------------------------------------------------
# Layout renderers: each returns the lines of the three tables (a dict section → text block).


def _flat(s: str) -> str:
    return s.replace("\n", " ")


def _render_tab_cells(m: _Model, rng: random.Random, opts: list[str], vertical: bool) -> dict[str, str]:
    filler = rng.random() < 0.35       # seed 000: trailing blank cell after rows of table 二
    titles = rng.random() < 0.5        # seed 000: the table's title as a cell before it
    if filler:
        opts.append("trailing_filler")
    if titles:
        opts.append("title_cells")

    def cell(s: str) -> str:
        return "\t" + s

    def row(cells: list[str]) -> str:
        return "\n".join(cell(c) for c in cells) + "\n"

    out2 = []
    if titles:
        out2.append(row(["主动公开政府信息情况", ""]))
    for bi, b in enumerate(m.t2):
        if b.caption is not None:
            out2.append(row([b.caption] + ([""] if filler else [])))
        out2.append(row(b.header + ([""] if filler else [])))
        if filler and bi == 0:
            out2.append(row([""] * (b.width + 2)))
        for label, vals in b.rows:
            out2.append(row([label] + vals + ([""] if filler else [])))

    def vert(s: str, nb: bool) -> str:
        s = s.replace("\n", "")
        return ("\n\xa0" if nb else "\n").join(s)

    out3 = []
    if titles:
        out3.append(row(["收到和处理政府信息公开申请情况"]))
    apps = list(m.applicants)
    if vertical:
        apps[0] = vert(apps[0], False)
        apps[2] = vert(apps[2], False)
    out3.append(row([m.note, "申请人情况"]))
    out3.append(row([""] + apps))
    out3.append(row(["", ""] + m.orgs + [""]))
    for r in m.t3:
        lead = _t3_label_cells(r, True)
        if vertical and r.groups and r.groups[0][1]:
            lead[0] = vert(lead[0], True)
        out3.append(row(lead + r.values))

    res = list(m.results)
    if vertical:
        res = [vert(x, True) if i in (0, 1, 4) else x for i, x in enumerate(res)]
    out4 = []
    if titles:
        out4.append(row(["政府信息公开行政复议、行政诉讼情况"]))
    out4.append(row(["行政复议", "行政诉讼"]))
    out4.append(row(res + m.proceedings))
    out4.append(row([""] * 5 + list(m.results) + list(m.results[:4]) + [res[4]]))
    out4.append(row(m.t4))
    return {"二": "\n".join(out2), "三": "\n".join(out3), "四": "\n".join(out4)}


def _t3_label_cells(r: _T3Row, placeholders: bool) -> list[str]:
    """Label cells of a table-三 data row: group labels where a group starts, blanks under merged cells."""
    lead = []
    for g, first in r.groups:
        if first:
            lead.append(g)
        elif placeholders:
            lead.append("")
    return lead + [r.label]


def _render_tsv(m: _Model, rng: random.Random, opts: list[str]) -> dict[str, str]:
    out2 = []
    for b in m.t2:
        w = b.width + 1
        if b.caption is not None:
            out2.append(_flat(b.caption) + "\t" * (4 - 1 if w <= 4 else w - 1))
        hdr = [_flat(h) for h in b.header]
        out2.append("\t".join(hdr + ([""] if len(hdr) < 4 and rng.random() < 0.5 else [])))
        for label, vals in b.rows:
            out2.append("\t".join([_flat(label)] + vals))
    out3 = [
        m.note + "\t\t\t申请人情况" + "\t" * 6,
        "\t\t\t" + "\t".join(_flat(a) for a in m.applicants[:2]) + "\t" * 5 + _flat(m.applicants[2]),
        "\t\t\t\t" + "\t".join(_flat(o) for o in m.orgs) + "\t",
    ]
    for r in m.t3:
        out3.append("\t".join([_flat(x) for x in _t3_label_cells(r, True)] + r.values))
    res = [_flat(x) for x in m.results]
    out4 = ["行政复议" + "\t" * 5 + "行政诉讼" + "\t" * 9,
            "\t".join(res) + "\t" + _flat(m.proceedings[0]) + "\t" * 5 + _flat(m.proceedings[1]) + "\t" * 4,
            "\t" * 5 + "\t".join(res + res),
            "\t".join(m.t4)]
    return {"二": "\n".join(out2) + "\n", "三": "\n".join(out3) + "\n", "四": "\n".join(out4) + "\n"}


def _pipe_row(cells: list[str]) -> str:
    return " | ".join(cells) + " |"


def _render_pipe(m: _Model, rng: random.Random, opts: list[str]) -> dict[str, str]:
    out2 = []
    for b in m.t2:
        if b.caption is not None:
            out2.append(_flat(b.caption) + " |")
        out2.append(_pipe_row([_flat(h) for h in b.header]))
        for label, vals in b.rows:
            out2.append(_pipe_row([_flat(label)] + vals))
    out3 = [_pipe_row([m.note, "申请人情况"]), _pipe_row([_flat(a) for a in m.applicants]),
            _pipe_row([_flat(o) for o in m.orgs])]
    for r in m.t3:
        out3.append(_pipe_row([_flat(x) for x in _t3_label_cells(r, False)] + r.values))
    res = [_flat(x) for x in m.results]
    out4 = [_pipe_row(["行政复议", "行政诉讼"]), _pipe_row(res + [_flat(p) for p in m.proceedings]),
            _pipe_row(res + res), _pipe_row(m.t4)]
    return {"二": "\n".join(out2) + "\n", "三": "\n".join(out3) + "\n", "四": "\n".join(out4) + "\n"}


def _render_pipe_cells(m: _Model, rng: random.Random, opts: list[str]) -> dict[str, str]:
    def cells(xs: list[str]) -> list[str]:
        return [(_flat(x) + " |") if x else "|" for x in xs]

    out2 = []
    for b in m.t2:
        if b.caption is not None:
            out2 += [_flat(b.caption) + " |", "|||"]
        short = b.width == 2  # 2019 （八）（九）: two columns in a grid of three
        out2 += cells(b.header + ([""] if short else []))
        for label, vals in b.rows:
            out2 += cells([label] + vals + ([""] if short else []))
    out3 = cells([m.note, "申请人情况"]) + ["||||||||"] + cells(m.applicants) + ["|||||||"] + cells(m.orgs) + ["|||||"]
    for r in m.t3:
        out3 += cells(_t3_label_cells(r, False) + r.values) + ["||"]
    out4 = cells(["行政复议", "行政诉讼"]) + ["||||||||||"] + cells(m.results + m.proceedings) + ["||"]
    out4 += cells(m.results + m.results) + ["||"] + cells(m.t4) + ["||"]
    return {"二": "\n".join(out2) + "\n", "三": "\n".join(out3) + "\n", "四": "\n".join(out4) + "\n"}


def _line_tokens(m: _Model) -> dict[str, list[list[str]]]:
    """Rows of cells for the layouts that print one cell per line or per token (no blanks)."""
    t2 = []
    for b in m.t2:
        if b.caption is not None:
            t2.append([b.caption])
        t2.append(list(b.header))
        for label, vals in b.rows:
            t2.append([label] + vals)
    t3 = [[m.note, "申请人情况"], list(m.applicants), list(m.orgs)]
    for r in m.t3:
        t3.append(_t3_label_cells(r, False) + r.values)
    t4 = [["行政复议", "行政诉讼"], list(m.results) + list(m.proceedings), list(m.results) + list(m.results),
          list(m.t4)]
    return {"二": t2, "三": t3, "四": t4}


def _render_line_cells(m: _Model, rng: random.Random, opts: list[str]) -> dict[str, str]:
    stray = rng.random() < 0.35     # sjzqx: '|' after each cell, '|||'/'||||' after rows
    blank_lines = not stray and rng.random() < 0.35   # tianmen: blank line between cells
    if stray:
        opts.append("stray_pipes")
    if blank_lines:
        opts.append("blank_lines")
    out = {}
    for sec, rows in _line_tokens(m).items():
        lines = []
        for r in rows:
            for c in r:
                c = c.replace("\n", "\n\n") if blank_lines else c
                lines.append(c)
                if stray:
                    lines.append("|")
            if stray:
                lines.append(rng.choice(("|", "|||", "||||")))
        out[sec] = ("\n\n" if blank_lines else "\n").join(lines) + "\n"
    return out


def _render_one_line(m: _Model, rng: random.Random, opts: list[str]) -> dict[str, str]:
    return {sec: " ".join(_flat(c) for r in rows for c in r) for sec, rows in _line_tokens(m).items()}


def _render_pdf_text(m: _Model, rng: random.Random, opts: list[str]) -> dict[str, str]:
    rows = _line_tokens(m)
    out = {sec: "\n".join(" ".join(_flat(c) for c in r) for r in rows[sec]) + "\n" for sec in ("二", "三")}
    # Table 四 as a PDF prints it: vertical headers, one character per line, interleaved across columns.
    res = [_flat(x).replace(" ", "") for x in m.results]
    four = [x for x in res[:4]]
    lit = res[:4] + res[:4]
    tot = res[4]
    lines = ["行政复议 行政诉讼", " ".join(_flat(p) for p in m.proceedings)]
    n = max(len(x) for x in four)
    for i in range(n):
        lines.append(" ".join(x[i] if i < len(x) else "" for x in four).strip())
        lit_i = [x[i] if i < len(x) else "" for x in lit]
        if len(tot) == 2 and i in (1, 2):
            t = tot[i - 1]
            row = (([tot] if i == 1 else []) + lit_i[:4] + [t] + lit_i[4:] + [t])
        else:
            row = lit_i
        lines.append(" ".join(x for x in row if x))
    lines.append(" ".join(m.t4))
    out["四"] = "\n".join(lines) + "\n"
    opts.append("vertical_review_headers")
    return out


def _render_html_tables(m: _Model, rng: random.Random, opts: list[str]) -> dict[str, str]:
    nbsp = rng.random() < 0.5

    def td(s: str, colspan: int = 1, rowspan: int = 1) -> str:
        attrs = (f' colspan="{colspan}"' if colspan > 1 else "") + (f' rowspan="{rowspan}"' if rowspan > 1 else "")
        body = _html.escape(s, quote=False).replace("\n", "<br/>") if s else ("&nbsp;" if nbsp else "")
        return f"<td{attrs}>{body}</td>"

    def tr(cells: list[str]) -> str:
        return "<tr>" + "".join(cells) + "</tr>"

    g = 3  # value columns of the widest sub-table
    out2 = ['<table border="1" cellspacing="0" cellpadding="0" width="600">']
    for b in m.t2:
        if b.caption is not None:
            out2.append(tr([td(b.caption, 1 + g)]))
        hdr, w = b.header, b.width
        spans = [1] * w
        spans[-1] = g - w + 1
        out2.append(tr([td(hdr[0])] + [td(h, s) for h, s in zip(hdr[1:], spans)]))
        for label, vals in b.rows:
            out2.append(tr([td(label)] + [td(v, s) for v, s in zip(vals, spans)]))
    out2.append("</table>")

    out3 = ['<table border="1" cellspacing="0" cellpadding="0" width="600">',
            tr([td(m.note, 3, 3), td("申请人情况", 7)]),
            tr([td(m.applicants[0]), td(m.applicants[1], 5), td(m.applicants[2])]),
            tr([td("")] + [td(o) for o in m.orgs] + [td("")])]
    # rowspans of the group cells
    spans: dict[tuple[int, int], int] = {}
    for i, r in enumerate(m.t3):
        for gi, (gl, first) in enumerate(r.groups):
            if first:
                n = 1
                for r2 in m.t3[i + 1:]:
                    if len(r2.groups) > gi and not r2.groups[gi][1] and r2.groups[gi][0] == gl:
                        n += 1
                    else:
                        break
                spans[(i, gi)] = n
    for i, r in enumerate(m.t3):
        cells = []
        for gi, (gl, first) in enumerate(r.groups):
            if first:
                cells.append(td(gl, 1, spans[(i, gi)]))
        cells.append(td(r.label, 3 - len(r.groups)))
        cells += [td(v) for v in r.values]
        out3.append(tr(cells))
    out3.append("</table>")
    out4 = ['<table border="1" cellspacing="0" cellpadding="0" width="600">',
            tr([td("行政复议", 5), td("行政诉讼", 10)]),
            tr([td(x) for x in m.results] + [td(m.proceedings[0], 5), td(m.proceedings[1], 5)]),
            tr([td("")] * 5 + [td(x) for x in m.results + m.results]),
            tr([td(v) for v in m.t4]), "</table>"]
    return {"二": "\n".join(out2), "三": "\n".join(out3), "四": "\n".join(out4)}


_RENDERERS = {
    "tab_cells": None, "tsv": _render_tsv, "pipe": _render_pipe, "pipe_cells": _render_pipe_cells,
    "line_cells": _render_line_cells, "one_line": _render_one_line, "pdf_text": _render_pdf_text,
    "html": _render_html_tables,
}


# --------------------------------------------------------------------------------------------
# The whole report


def _cn_date(iso: str) -> str:
    y, mo, d = iso.split("-")
    return f"{int(y)}年{int(mo)}月{int(d)}日"


def _wrap(s: str, width: int) -> list[str]:
    return [s[i:i + width] for i in range(0, len(s), width)] or [""]


def render(truth: Truth, layout: str, rng: random.Random, *, variants: bool = True) -> str:
    """The full report text of `truth` in `layout`.

    Updates `truth` in place: `layout`, `variants`, `options`, and the `raw_value` of cells whose
    printed text depends on the layout (visible nil tokens where blanks would lose their position,
    traditional characters).
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, not {layout!r}")
    chosen = _choose_variants(rng, truth, layout) if variants else set()
    truth.layout = layout
    truth.variants = [v for v in VARIANTS if v in chosen]
    truth.options = []

    # Nulls: a visible token where a blank cell would lose its position.
    if layout not in POSITIONAL_LAYOUTS:
        tok = rng.choice(NIL_TOKENS)
        for c in truth.cells:
            if c["value"] is None and c["raw_value"] == "":
                c["raw_value"] = tok
    elif layout == "tsv":
        # Tab-separated exports pad label spans and row ends with empty cells (seed 002), so a
        # blank at either end of a row's values is indistinguishable from padding: print a nil.
        tok = rng.choice(NIL_TOKENS)
        edges = {}
        for c in truth.cells:
            edges.setdefault((c["table"], c["row_path"]), []).append(c)
        for row in edges.values():
            for c in (row[0], row[-1]):
                if c["value"] is None and c["raw_value"] == "":
                    c["raw_value"] = tok

    lab = _Labels(truth, rng, chosen, layout)
    model = _Model(truth, lab, rng, "nbsp_padding" in chosen)
    if layout == "tab_cells":
        tables = _render_tab_cells(model, rng, truth.options, "vertical_headers" in chosen)
    else:
        tables = _RENDERERS[layout](model, rng, truth.options)

    prose = _prose(truth, rng, pad=rng.randint(6, 10))
    title = f"{truth.organization}{truth.report_year}年政府信息公开工作年度报告"
    date = _cn_date(truth.publication_date)
    h = SECTION_HEADINGS

    if layout == "html":
        text = _html_page(truth, title, prose, tables, date, rng)
    else:
        # (kind, text): "h" title/heading/signature line, "p" prose paragraph, "t" table block
        paras: list[tuple[str, str]] = [("h", title)]
        paras += [("p", x) for x in prose["preamble"]]
        paras.append(("h", h[0]))
        paras += [("p", x) for x in prose["general"]]
        paras += [("h", h[1]), ("t", tables["二"]), ("h", h[2]), ("t", tables["三"]), ("h", h[3]), ("t", tables["四"])]
        paras.append(("h", h[4]))
        paras += [("p", x) for x in prose["problems"]]
        paras.append(("h", h[5]))
        paras += [("p", x) for x in prose["other"]]
        paras += [("h", truth.organization), ("h", date)]
        if layout == "one_line":
            text = " ".join(x.strip() for _, x in paras)
        elif layout == "pdf_text":
            lines = []
            for kind, x in paras:
                lines += _wrap(x, 30) if kind == "p" else [x.rstrip("\n")]
            text = "\n".join(lines) + "\n"
        else:
            lines = []
            for kind, x in paras:
                lines.append(x.rstrip("\n"))
                if kind == "t" or layout == "tsv":
                    lines.append("")
            text = "\n".join(lines) + "\n"

    if "traditional" in chosen:
        conv = _s2t()
        text = conv.convert(text)
        for c in truth.cells:
            c["raw_value"] = conv.convert(c["raw_value"])
        if "dang_an" in chosen:
            text = text.replace("文件", "檔案")
        if "pinyin" in chosen:
            present = [ch for ch in _PINYIN if ch in text]
            for ch in rng.sample(present, min(len(present), rng.randint(2, 4))):
                text = text.replace(ch, f"{ch}({_PINYIN[ch]})")
    return text


def _html_page(truth: Truth, title: str, prose: dict, tables: dict, date: str, rng: random.Random) -> str:
    e = lambda s: _html.escape(s, quote=False)  # noqa: E731
    org = truth.organization
    site = org.split("市")[0] + "市人民政府" if "市" in org else org.split("县")[0] + "县人民政府"
    nav = "".join(f'<li><a href="/{slug}/">{e(name)}</a></li>' for slug, name in (
        ("index", "首页"), ("zwgk", "政务公开"), ("zwfw", "政务服务"), ("hdjl", "互动交流"), ("zjxx", "走进本地")))
    p = lambda s: f"<p>{e(s)}</p>"  # noqa: E731
    h = SECTION_HEADINGS
    body = "\n".join([
        p(prose["preamble"][0]), p(h[0]), *map(p, prose["general"]),
        p(h[1]), tables["二"], p(h[2]), tables["三"], p(h[3]), tables["四"],
        p(h[4]), *map(p, prose["problems"]), p(h[5]), *map(p, prose["other"]),
        f'<p style="text-align:right">{e(truth.organization)}</p>',
        f'<p style="text-align:right">{e(date)}</p>',
    ])
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"/><title>{e(title)}_{e(site)}</title>
<meta name="ArticleTitle" content="{_html.escape(title)}"/>
<link rel="stylesheet" href="/css/main.css"/></head>
<body>
<div class="header"><div class="logo"><a href="/"><img src="/images/logo.png" alt="{e(site)}"/></a></div>
<div class="search"><form action="/search"><input type="text" name="q"/><button>搜索</button></form></div></div>
<div class="nav"><ul>{nav}</ul></div>
<div class="crumb">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk/">政务公开</a> &gt; <a href="/zwgk/ndbg/">政府信息公开年报</a></div>
<div class="article">
<h1 class="article-title">{e(title)}</h1>
<div class="article-meta">发布时间：{truth.publication_date} 来源：{e(truth.organization)} 字号：<a href="#">大</a> <a href="#">中</a> <a href="#">小</a></div>
<div id="zoom" class="article-content">
{body}
</div>
<div class="share"><a href="javascript:window.print()">打印本页</a> <a href="javascript:window.close()">关闭窗口</a></div>
</div>
<div class="footer"><p><a href="/about/">关于本站</a> | <a href="/sitemap/">网站地图</a> | <a href="/contact/">联系我们</a></p>
<p>主办单位：{e(site)}办公室　版权所有</p></div>
</body></html>
"""


# --------------------------------------------------------------------------------------------
# Convenience


def generate(seed: int, *, template: str | None = None, layout: str | None = None, consistent: bool = True,
             variants: bool = True) -> tuple[str, Truth]:
    """One report for `seed`: (text, truth). Same seed and arguments → same output."""
    rng = random.Random(seed)
    template = template or rng.choice(TEMPLATES)
    layout = layout or rng.choice(LAYOUTS)
    truth = make_truth(rng, template, consistent=consistent)
    text = render(truth, layout, rng, variants=variants)
    return text, truth


def next_year(prev: Truth, rng: random.Random, *, template: str | None = None, consistent: bool = True) -> Truth:
    """The same body's report of the following year (format `template`, default the same): its 二、上年结转
    carries last year's 四、结转下年度继续办理 and its table 二 rolls forward wherever the format files
    declare a cross-year check between the two formats; `consistent=False` breaks the carry-over of
    one applicant column (identity 1 still holds)."""
    truth = make_truth(rng, template or prev.template, blanks=0.0)
    year = prev.report_year + 1
    truth.organization, truth.report_year = prev.organization, year
    truth.publication_date = f"{year + 1:04d}-{rng.randint(1, 3):02d}-{rng.randint(1, 28):02d}"
    last, here = prev._index(), truth._index()

    def value(cells, table, row, col) -> float:
        v = cells[(table, row, col)]["value"]
        return 0.0 if v is None else float(v)

    def put(table, row, col, v: float) -> None:
        c = here[(table, row, col)]
        c["value"], c["raw_value"] = float(v), str(int(v))

    for check in truth.format.cross_year:
        if prev.template not in check.previous:
            continue
        t = check.table
        for _key, cur, plus, minus, before in check.instances(truth.format, FORMATS[prev.template]):
            target = sum(value(last, t, r, c) for r, c in before) + sum(value(here, t, r, c) for r, c in plus) \
                - sum(value(here, t, r, c) for r, c in minus)
            if target < 0 and minus:              # fewer repealed than would leave a negative stock
                r, c = minus[0]
                put(t, r, c, value(here, t, r, c) + target)
                target = 0.0
            put(t, *cur[0], target)
            for r, c in cur[1:]:
                put(t, r, c, 0.0)
    # table 三 again balances (identity 1) around the carried-in column values
    t3 = truth.format.tables["applications"]
    rows3, cols3 = t3.row_paths, t3.column_paths
    new_row, carried_row, forward_row = rows3[0], rows3[1], rows3[-1]
    outcome_total = "三、本年度办理结果 > （七）总计"
    for k, col in enumerate(cols3[:-1]):
        carried, fwd = value(here, "applications", carried_row, col), value(here, "applications", forward_row, col)
        total = value(here, "applications", outcome_total, col)
        if not consistent and k == 0:
            carried, fwd = carried + 1, fwd + 1
        if carried > total + fwd:
            fwd = carried - total
        put("applications", carried_row, col, carried)
        put("applications", forward_row, col, fwd)
        put("applications", new_row, col, total + fwd - carried)
    for r in (new_row, carried_row, forward_row):
        put("applications", r, cols3[-1], sum(value(here, "applications", r, c) for c in cols3[:-1]))
    truth.consistent = consistent
    if not consistent:
        truth.broken = {"table": "applications", "row_path": carried_row, "column_path": cols3[0]}
    return truth


def corpus(n: int, seed: int = 0, **kwargs) -> Iterator[tuple[str, Truth]]:
    """`n` reports (text, truth), deterministic for `seed`; kwargs as for `generate`."""
    rng = random.Random(seed)
    for _ in range(n):
        yield generate(rng.getrandbits(63), **kwargs)


__all__ = ["Truth", "LAYOUTS", "TEMPLATES", "VARIANTS", "POSITIONAL_LAYOUTS", "NIL_TOKENS", "SECTION_HEADINGS",
           "make_truth", "make_organization", "render", "generate", "corpus", "identity_violations", "next_year"]
