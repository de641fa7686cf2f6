"""The second-generation resident ID card as the reader knows it: its size (ISO/IEC 7810 ID-1),
the resolution a found card is rectified to, where its photo lies, the 56 ethnic names its 民族
field prints and the word a long-term card's validity prints. The synthetic card generator draws
cards to this specification; the reader never imports the generator."""

from __future__ import annotations

CARD_MM = (85.6, 54.0)
PX_PER_MM = 10
CARD_PX = (round(CARD_MM[0] * PX_PER_MM), round(CARD_MM[1] * PX_PER_MM))  # 856 x 540
LONG_TERM = "长期"
PORTRAIT_MM = (54.0, 5.0, 80.0, 38.0)  # left, top, right, bottom: the photo area on the portrait side

# The 56 ethnic groups as the card prints them (民族 field, without the trailing 族).
ETHNIC_GROUPS = [
    "汉",
    "蒙古",
    "回",
    "藏",
    "维吾尔",
    "苗",
    "彝",
    "壮",
    "布依",
    "朝鲜",
    "满",
    "侗",
    "瑶",
    "白",
    "土家",
    "哈尼",
    "哈萨克",
    "傣",
    "黎",
    "傈僳",
    "佤",
    "畲",
    "高山",
    "拉祜",
    "水",
    "东乡",
    "纳西",
    "景颇",
    "柯尔克孜",
    "土",
    "达斡尔",
    "仫佬",
    "羌",
    "布朗",
    "撒拉",
    "毛南",
    "仡佬",
    "锡伯",
    "阿昌",
    "普米",
    "塔吉克",
    "怒",
    "乌孜别克",
    "俄罗斯",
    "鄂温克",
    "德昂",
    "保安",
    "裕固",
    "京",
    "塔塔尔",
    "独龙",
    "鄂伦春",
    "赫哲",
    "门巴",
    "珞巴",
    "基诺",
]
