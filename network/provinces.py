"""Provinces by the first two digits of a Chinese postal code (邮政编码), so a caller can name
a place by keypad."""
from __future__ import annotations

# (postal code prefixes, Chinese name, English name)
PROVINCES = (
    (("10",), "北京", "Beijing"), (("20",), "上海", "Shanghai"), (("30",), "天津", "Tianjin"),
    (("40",), "重庆", "Chongqing"), (("01", "02"), "内蒙古", "Inner Mongolia"), (("03", "04"), "山西", "Shanxi"),
    (("05", "06", "07"), "河北", "Hebei"), (("11", "12"), "辽宁", "Liaoning"), (("13",), "吉林", "Jilin"),
    (("15", "16"), "黑龙江", "Heilongjiang"), (("21", "22"), "江苏", "Jiangsu"), (("23", "24"), "安徽", "Anhui"),
    (("25", "26", "27"), "山东", "Shandong"), (("31", "32"), "浙江", "Zhejiang"), (("33", "34"), "江西", "Jiangxi"),
    (("35", "36"), "福建", "Fujian"), (("41", "42"), "湖南", "Hunan"), (("43", "44"), "湖北", "Hubei"),
    (("45", "46", "47"), "河南", "Henan"), (("51", "52"), "广东", "Guangdong"), (("53", "54"), "广西", "Guangxi"),
    (("55", "56"), "贵州", "Guizhou"), (("57",), "海南", "Hainan"), (("61", "62", "63", "64"), "四川", "Sichuan"),
    (("65", "66", "67"), "云南", "Yunnan"), (("71", "72"), "陕西", "Shaanxi"), (("73", "74"), "甘肃", "Gansu"),
    (("75",), "宁夏", "Ningxia"), (("81",), "青海", "Qinghai"), (("83", "84"), "新疆", "Xinjiang"),
    (("85", "86"), "西藏", "Tibet"),
)
_BY_PREFIX = {prefix: zh for prefixes, zh, _ in PROVINCES for prefix in prefixes}
_BY_NAME = {name.lower(): zh for _, zh, en in PROVINCES for name in (zh, en)}
ENGLISH = {zh: en for _, zh, en in PROVINCES}


def province_for_postcode(postcode: str) -> str | None:
    """'310012' -> '浙江'; None for a code that is not six digits of a known province."""
    if len(postcode) != 6 or not postcode.isdigit():
        return None
    return _BY_PREFIX.get(postcode[:2])


def province_named(name: str) -> str | None:
    """A province by its Chinese or English name ('浙江', '浙江省', 'Zhejiang') -> '浙江'."""
    name = name.strip().lower()
    for suffix in ("壮族自治区", "回族自治区", "维吾尔自治区", "自治区", "省", "市"):
        if name.endswith(suffix):
            name = name.removesuffix(suffix)
            break
    return _BY_NAME.get(name)


# Cities callers and parcels name, by province (a place named by its province needs no entry).
CITIES = {
    "深圳": "广东", "广州": "广东", "东莞": "广东", "杭州": "浙江", "义乌": "浙江", "宁波": "浙江",
    "南京": "江苏", "苏州": "江苏", "成都": "四川", "哈尔滨": "黑龙江", "西安": "陕西", "厦门": "福建",
    "福州": "福建", "拉萨": "西藏", "长沙": "湖南", "武汉": "湖北", "青岛": "山东", "昆明": "云南",
    "沈阳": "辽宁", "郑州": "河南",
}


def province_of_place(place: str) -> str | None:
    """'杭州' -> '浙江', '上海市浦东新区' -> '上海'."""
    for city, province in CITIES.items():
        if place.startswith(city):
            return province
    return next((zh for _, zh, _ in PROVINCES if place.startswith(zh)), None)
