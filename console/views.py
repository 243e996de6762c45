"""The agent console's pages (the data comes from console.api, live over server-sent events)."""
from __future__ import annotations

from flask import Blueprint, render_template, request

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
    },
}


@bp.get("/")
def agent_console():
    lang = "en" if request.args.get("lang") == "en" else "zh"
    return render_template("console.html", words=WORDS[lang], lang=lang)


@bp.get("/wallboard")
def wallboard():
    return render_template("wallboard.html")
