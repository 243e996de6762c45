"""The agent console's pages (the data comes from console.api, live over server-sent events)."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from tickets import CATEGORY_NAMES_ZH, ComplaintCategory, Demand, TicketStatus
from tracking.status import STATUS_NAMES_ZH, ParcelStatus

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates", static_folder="static")

# Chinese by default; ?lang=en for English. Words only: numbers and data come from the API.
WORDS = {
    "zh": {
        "title": "客服工作台", "login": "登录", "username": "工号", "password": "密码", "logout": "退出",
        "state": "状态", "available": "就绪", "break": "小休", "offline": "离线", "offered": "来电",
        "on_call": "通话中", "wrap_up": "话后整理", "not_responding": "未应答",
        "offer": "来电弹屏", "no_offer": "暂无来电", "accept": "接听", "caller": "来电号码",
        "waybill": "运单号", "category": "投诉类型", "line": "队列", "history": "物流轨迹", "ivr": "语音导航记录",
        "earlier": "历史工单", "kept_place": "排队回电", "disposition": "处理结果", "notes": "备注", "finish": "结束通话",
        "tickets": "工单", "number": "工单号", "status": "状态", "owner": "负责人", "first_response": "首次响应",
        "closure": "闭环", "breached": "已超时", "callback": "预约回电", "phone": "电话", "slot": "时段",
        "book": "预约", "soonest": "尽快", "afternoon": "今天下午", "tomorrow_morning": "明天上午",
        "resolved": "已解决", "ticket_opened": "已建工单", "callback_booked": "已约回电", "transferred": "已转接",
        "no_action": "无需处理", "error": "出错了",
        "new_ticket": "新建工单", "name": "客户姓名", "demand": "诉求", "create": "提交工单", "save": "保存",
        "ticket_detail": "工单详情", "actions": "处理", "created": "已建工单", "linked": "已并入在办工单",
        "compensation": "要求赔偿", "redelivery": "尽快派送", "refund": "退还运费", "explanation": "给个说法",
        "assign": "受理", "respond": "首次响应", "forward_to_branch": "转网点", "record_result": "录入网点结果",
        "confirm_with_customer": "客户确认", "close": "闭环", "escalate": "升级主管", "reopen": "重开",
        **{c.value: name for c, name in CATEGORY_NAMES_ZH.items()},
        "statuses": {"new": "新建", "assigned": "已受理", "first_response": "已首次响应", "waiting_branch": "待网点处理",
                     "result_received": "网点已反馈", "customer_confirmed": "客户已确认", "closed": "已闭环",
                     "escalated": "已升级"},
        "parcel_statuses": {s.value: name for s, name in STATUS_NAMES_ZH.items()}, "minutes": "分钟",
        "events": {"opened": "建单", "note": "备注", "edited": "修改", "repeat_complaint": "重复投诉",
                   "claim": "理赔核定", "survey": "满意度回访", "survey_comment": "回访留言"},
    },
    "en": {
        "title": "Agent console", "login": "Log in", "username": "Username", "password": "Password", "logout": "Log out",
        "state": "State", "available": "Available", "break": "Break", "offline": "Offline", "offered": "Offered",
        "on_call": "On call", "wrap_up": "Wrap-up", "not_responding": "Not responding",
        "offer": "Incoming call", "no_offer": "No call offered", "accept": "Accept", "caller": "Caller",
        "waybill": "Waybill", "category": "Complaint", "line": "Queue", "history": "Parcel history", "ivr": "In the IVR",
        "earlier": "Earlier tickets", "kept_place": "Kept place (callback)", "disposition": "Disposition",
        "notes": "Notes", "finish": "End call", "tickets": "Tickets", "number": "Number", "status": "Status",
        "owner": "Owner", "first_response": "First response", "closure": "Closure", "breached": "breached",
        "callback": "Book a callback", "phone": "Phone", "slot": "Slot", "book": "Book", "soonest": "Soonest",
        "afternoon": "This afternoon", "tomorrow_morning": "Tomorrow morning", "resolved": "Resolved",
        "ticket_opened": "Ticket opened", "callback_booked": "Callback booked", "transferred": "Transferred",
        "no_action": "No action", "error": "Error",
        "new_ticket": "New ticket", "name": "Customer name", "demand": "Demand", "create": "Open ticket", "save": "Save",
        "ticket_detail": "Ticket", "actions": "Actions", "created": "Ticket opened",
        "linked": "Added to the open ticket", "compensation": "Compensation", "redelivery": "Redeliver soon",
        "refund": "Refund the fee", "explanation": "An explanation", "assign": "Take", "respond": "First response",
        "forward_to_branch": "Forward to branch", "record_result": "Branch result", "confirm_with_customer":
        "Customer confirmed", "close": "Close", "escalate": "Escalate", "reopen": "Reopen",
        **{c.value: c.value.replace("_", " ") for c in ComplaintCategory},
        "statuses": {s.value: s.value.replace("_", " ") for s in TicketStatus},
        "parcel_statuses": {s.value: s.value.replace("_", " ") for s in ParcelStatus}, "minutes": "min",
        "events": {"opened": "Opened", "note": "Note", "edited": "Edited", "repeat_complaint": "Repeat complaint",
                   "claim": "Claim assessed", "survey": "Satisfaction survey", "survey_comment": "Survey comment"},
    },
}


@bp.get("/")
def agent_console():
    lang = "en" if request.args.get("lang") == "en" else "zh"
    return render_template("console.html", words=WORDS[lang], lang=lang,
                           categories=[c.value for c in ComplaintCategory], demands=[d.value for d in Demand])


@bp.get("/wallboard")
def wallboard():
    return render_template("wallboard.html")
