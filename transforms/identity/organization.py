"""A body's canonical identity from its printed name: normalised name, division, type, stable id.

The same body prints itself as `X区人民政府` one year and `Y市X区人民政府` the next, as `经纬街道`
or `经纬街道办事处`, in traditional characters on a mirror. The id is built from what does not
change: the division's code, the township, and the body's own words with the place taken off
(`人民政府`, `教育局`), so every rendering of one body gets one `organization_id`.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

from transforms.identity.gazetteer import Gazetteer, Place, load
from transforms.labels import clean

from transforms.schema import DIVISION_LEVELS, ORGANIZATION_TYPES  # noqa: F401  (the registry's vocabularies)

_PAREN = re.compile(r"\([^()]*\)")
_YEAR_WORDS = re.compile(r"^(?:20\d{2})年度?|(?:20\d{2})年度?$")
_REPORT_WORDS = re.compile(r"(?:关于)?(?:政府|政务)?信息公开(?:工作)?(?:年度)?(?:工作)?(?:报告|年报)$")
_YEAR_OR_REPORT_END = ("年", "年度", "报告", "年报")     # the ends _YEAR_WORDS and _REPORT_WORDS need
_CJK_NAME = re.compile(r"^[\u3400-\u9fff()·]{2,40}$")
_ORG_END_WORDS = ("人民政府", "政府", "办公厅", "办公室", "办事处", "街道", "镇", "乡", "苏木", "管委会", "管理委员会", "开发区",
                  "园区", "高新区", "新区", "委员会", "委", "局", "厅", "署", "办", "中心", "院", "所", "站", "队", "处", "馆",
                  "室", "会", "社", "行", "省", "市", "县", "区", "旗", "州", "盟", "部")
_ORG_END = re.compile("(?:" + "|".join(_ORG_END_WORDS) + ")$")
# Names that say who wrote but not which body: "我局", "本单位", "该镇"
_DEICTIC = re.compile(r"^(?:我|本|该|各|全)|^贵(?:单位|机关|部门)")
_NOT_A_BODY = re.compile(r"关于|通知|条例|报告|年报|意见|办法|规定|方案|目录|指南|中华人民共和国|国务院办公厅政府信息")
# A place word that is not preceded by a proper name (区统计局, 市教育局, 省交通运输厅)
_SHORT_FORM = re.compile(r"^(?:省|市|县|区|乡|镇|州|盟|旗|街道|经济技术开发区|经济开发区|经开区|高新区|开发区|园区|新区)")



def _ends_with(name: str, words: tuple[str, ...]) -> bool:
    """re.search("(?:w1|w2|…)$", name) for words without a line break, without the scan: `$` also
    matches before a final newline."""
    return (name[:-1] if name[-1:] == "\n" else name).endswith(words)


@dataclass(frozen=True)
class Identity:
    normalized: str
    organization_type: str
    division_code: str | None
    province: str | None
    city: str | None
    county: str | None
    township: str | None
    level: str | None
    organization_id: str
    ambiguous: tuple[str, ...] = ()


def fill_meta(meta: dict, ident: Identity) -> None:
    """Write an identity into a report's identity columns (extraction and overrides alike)."""
    meta.update(organization_normalized=ident.normalized, organization_type=ident.organization_type,
                organization_id=ident.organization_id, division_code=ident.division_code,
                province=ident.province, city=ident.city, county=ident.county, township=ident.township,
                division_level=ident.level)


@lru_cache(maxsize=16384)
def tidy_name(text: str) -> str:
    """Printed name → comparable name: width, traditional, spaces, year and report words removed."""
    s = clean(text).replace(" ", "").strip("《》<>\"'|:-·")
    s = s.removeprefix("关于")
    prev = None
    while prev != s and (s[:2] == "20" or s.endswith(_YEAR_OR_REPORT_END)):   # else neither pattern matches
        prev = s
        s = _YEAR_WORDS.sub("", s)
        s = _REPORT_WORDS.sub("", s)
    if s.endswith("人民"):      # "…镇人民" + "政府信息公开" read as the report words
        s += "政府"
    return s


_STEM_END = re.compile(r"(?:街道办事处|街道办|办事处|街道|人民政府|政府|镇|乡|管理委员会|管委会)+$")


@lru_cache(maxsize=16384)
def stem(name: str) -> str:
    """A body's name without its trailing body words (振江办事处, 振江街道办事处 → 振江)."""
    return _STEM_END.sub("", _PAREN.sub("", name)) or name


@lru_cache(maxsize=16384)
def validate(name: str, gz: Gazetteer | None = None) -> tuple[str | None, str | None]:
    """(name, None) when `name` can be a body's full name, else (None, why not)."""
    if not name:
        return None, "empty"
    if not _CJK_NAME.match(name):
        return None, f"not a body's name ({name[:30]!r}: characters other than Chinese)"
    if _DEICTIC.match(name):
        return None, f"names the body only as {name!r}"
    if _NOT_A_BODY.search(name):
        return None, f"not a body's name ({name!r})"
    bare = _PAREN.sub("", name)
    if not _ends_with(bare, _ORG_END_WORDS):
        return None, f"not a body's name ({name!r}: no body word at its end)"
    if not _ORG_END.sub("", bare).strip("人民"):
        return None, f"a body word without a name ({name!r})"
    gz = gz or load()
    if gz.place_prefix(name) is None and _SHORT_FORM.match(name):
        return None, f"printed only as a short form without its place ({name!r})"
    return name, None


def complete(name: str, region, gz: Gazetteer | None = None) -> str | None:
    """A short form (区统计局, 市教育局) with its place from the caller's context: the level word the
    name starts with is replaced by the name of the context's division of that level."""
    gz = gz or load()
    m = _SHORT_FORM.match(name)
    if region is None or m is None or m.group(0) not in ("省", "市", "县", "区", "旗", "州", "盟"):
        return None
    for d in reversed(gz.ancestors(region.code)):
        if d.name.endswith(m.group(0)):
            full = d.name + name[1:]
            return full if validate(full, gz)[0] else None
    return None


def _body_words(rest: str, township: bool, level: str | None) -> str:
    """The body's own words once the place is taken off, in one canonical spelling."""
    rest = rest.replace("管理委员会", "管委会")
    if township:
        return "" if rest in ("", "人民政府", "政府", "办事处", "街道办事处", "街道办") else rest
    if rest in ("", "政府", "人民政府"):
        return "人民政府"
    if rest in ("政府办", "政府办公室", "人民政府办公室", "政府办公厅", "人民政府办公厅"):
        return "人民政府办公厅" if level == "province" else "人民政府办公室"
    return rest


_ZONE_END = ("管委会", "管理委员会", "开发区", "园区", "高新区", "新区")
_SUBDISTRICT_END = ("街道", "街道办事处", "街道办")
_TOWNSHIP_END = tuple(p + s for p in ("镇", "乡", "苏木") for s in ("人民政府", "政府", ""))
_GENERAL_OFFICE_END = ("政府办公厅", "政府办公室", "政府办")
_DEPARTMENT_END = ("局", "委员会", "委", "厅", "署", "办", "中心", "院", "所", "站", "队", "处", "馆", "室")
_TOWNSHIP_PLACE_END = ("街道", "镇", "乡", "苏木")


def _org_type(name: str, words: str, township: bool) -> str:
    end = name[:-1] if name[-1:] == "\n" else name      # what a `$`-anchored pattern would test
    if end.endswith(_ZONE_END):
        return "development_zone"
    if end.endswith(_SUBDISTRICT_END):
        return "subdistrict"
    if end.endswith(_TOWNSHIP_END) or (township and words == ""):
        return "township"
    if end.endswith(_GENERAL_OFFICE_END):
        return "general_office"
    if words == "人民政府":
        return "government"
    if end.endswith(_DEPARTMENT_END):
        return "department"
    return "other"


@lru_cache(maxsize=4096)
def identify(name: str, hints: str = "", region: str | None = None, gz: Gazetteer | None = None) -> Identity:
    """Canonical identity of a (validated, tidied) body name.

    hints: text of the report that may name the body's enclosing places (used only to choose
    between divisions sharing a name); region: the caller's context (a place name or code) that
    completes a name printed without its place."""
    gz = gz or load()
    base = _PAREN.sub("", name) or name
    place: Place | None = gz.place_prefix(base, hints)
    context = gz.resolve_region(region) if region else None
    if place is not None and place.division is None and context is not None:
        inside = [c for c in place.candidates if gz._inside(c, context.code) or gz._inside(context.code, c)]
        if len(inside) == 1:
            place = gz.place_prefix(base, " ".join(gz.names_of(inside[0])))
    division = township = None
    rest = base
    ambiguous: tuple[str, ...] = ()
    if place is not None:
        rest = base[place.end:]
        if place.division is not None:
            division, township = place.division, place.township
        else:
            ambiguous = place.candidates
    elif context is not None:
        division = context      # a name without a place: the context says where the body is
    words = _body_words(rest, township is not None, division.level if division else None)
    if division is not None:
        chain = gz.ancestors(division.code)
        names = {d.level: d.name for d in chain}
        province = names.get("province")
        city = names.get("city") or (province if division.level != "province" and province and
                                     province.endswith("市") else None)
        county = names.get("county")
        level = "township" if township else division.level
        # normalised: city + county + township + the body's words (the province only for its own bodies)
        prefix = "".join(n for n in ((province if level == "province" else None), city, county) if n)
        if not prefix and province:
            prefix = province
        normalized = prefix + (township or "") + (words if (township is None or words) else "")
        if township and not words:
            normalized = prefix + township + _township_suffix(base, township)
        key = f"{division.code}|{township or ''}|{words}"
        oid = f"{division.code}-{hashlib.sha1(key.encode('utf-8')).hexdigest()[:10]}"
        return Identity(normalized, _org_type(base, words, township is not None), division.code, province, city,
                        county, township, level, oid, ambiguous)
    # no division: the name itself, its body words spelt one way (张家湾镇 = 张家湾镇人民政府)
    normalized = base
    if place is not None:
        is_township = _ends_with(base[:place.end], _TOWNSHIP_PLACE_END)
        normalized = base[:place.end] + (_body_words(rest, is_township, None) if is_township else words)
        words = _body_words(rest, is_township, None) if is_township else words
    oid = f"000000-{hashlib.sha1(('name|' + normalized).encode('utf-8')).hexdigest()[:10]}"
    return Identity(normalized, _org_type(base, words, place is not None and words == ""), None, None, None, None,
                    None, None, oid, ambiguous)


def _township_suffix(printed: str, township: str) -> str:
    """Printed 街道 bodies keep 办事处, townships 人民政府: the normalised name reads as a body."""
    if township.endswith("街道"):
        return "办事处"
    if township.endswith(("镇", "乡", "苏木")):
        return "人民政府"
    return ""


def pinned(ident: Identity, code: str | None, township: str | None, gz: Gazetteer | None = None) -> Identity:
    """`ident` moved to the division (and township) a maintainer pinned; the id follows the pin."""
    gz = gz or load()
    if not code or code not in gz.divisions:
        return ident
    chain = {d.level: d.name for d in gz.ancestors(code)}
    province, level = chain.get("province"), ("township" if township else gz.divisions[code].level)
    words = _body_words(ident.normalized.split(township)[-1] if township and township in ident.normalized
                        else _strip_place(ident.normalized, gz), township is not None, level)
    key = f"{code}|{township or ''}|{words}"
    oid = f"{code}-{hashlib.sha1(key.encode('utf-8')).hexdigest()[:10]}"
    prefix = "".join(n for n in (chain.get("city"), chain.get("county")) if n) or (province or "")
    normalized = prefix + (township or "") + (words or (_township_suffix("", township) if township else ""))
    return Identity(normalized, ident.organization_type, code, province, chain.get("city"), chain.get("county"),
                    township, level, oid)


def _strip_place(name: str, gz: Gazetteer) -> str:
    place = gz.place_prefix(name)
    return name[place.end:] if place else name
