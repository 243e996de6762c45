"""Complaint categories and customer demands, as the seeds' agents record them."""
from __future__ import annotations

from enum import Enum


class ComplaintCategory(str, Enum):
    DAMAGED = "damaged"                          # 破损
    LOST = "lost"                                # 丢失
    DELAYED = "delayed"                          # 延误
    MISSORTED = "missorted"                      # 错分
    NOT_DELIVERED_TO_DOOR = "not_delivered_to_door"  # 派送不到位
    SIGNED_NOT_RECEIVED = "signed_not_received"  # 签收未收到
    COURIER_ATTITUDE = "courier_attitude"        # 快递员态度
    WRONG_CHARGES = "wrong_charges"              # 乱收费
    ADDRESS_CHANGE = "address_change"            # 改地址
    # Not complaints, but tickets all the same: a recorded message each.
    SUGGESTION = "suggestion"                    # 建议, for the supervisors' list
    MESSAGE = "message"                          # 留言, left outside agent hours: call back


MESSAGE_CATEGORIES = (ComplaintCategory.SUGGESTION, ComplaintCategory.MESSAGE)


CATEGORY_NAMES_ZH = {
    ComplaintCategory.DAMAGED: "破损",
    ComplaintCategory.LOST: "丢失",
    ComplaintCategory.DELAYED: "延误",
    ComplaintCategory.MISSORTED: "错分",
    ComplaintCategory.NOT_DELIVERED_TO_DOOR: "派送不到位",
    ComplaintCategory.SIGNED_NOT_RECEIVED: "签收未收到",
    ComplaintCategory.COURIER_ATTITUDE: "快递员态度",
    ComplaintCategory.WRONG_CHARGES: "乱收费",
    ComplaintCategory.ADDRESS_CHANGE: "改地址",
    ComplaintCategory.SUGGESTION: "建议",
    ComplaintCategory.MESSAGE: "留言",
}


class Demand(str, Enum):
    COMPENSATION = "compensation"  # 要求赔偿
    REDELIVERY = "redelivery"      # 尽快派送
    REFUND = "refund"              # 退还运费
    EXPLANATION = "explanation"    # 给个说法
    CALL_BACK = "call_back"        # 留言待回电
    NONE = "none"                  # 无具体诉求 (a suggestion)
