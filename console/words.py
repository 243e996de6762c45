"""Every word the console, the wallboard and the API's errors show, in the console's languages:
zh-CN by default, en on ?lang=en (pages) or Accept-Language: en (the API, which the pages send).
Codes stay codes in the data; these are what people read."""
from __future__ import annotations

from flask import request

from tickets import CATEGORY_NAMES_ZH, ComplaintCategory, TicketStatus
from tracking.carriers import CARRIERS
from tracking.service import PHONE_NUMBER_RULE
from tracking.status import STATUS_NAMES_ZH, ParcelStatus

CONSOLE_LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"

_ZH_STATUSES = {"new": "新建", "assigned": "已受理", "first_response": "已首次响应", "waiting_branch": "待网点处理",
                "result_received": "网点已反馈", "customer_confirmed": "客户已确认", "closed": "已闭环",
                "escalated": "已升级"}

WORDS = {
    "zh-CN": {
        "title": "客服工作台", "login": "登录", "username": "工号", "password": "密码", "logout": "退出",
        "state": "状态", "available": "就绪", "break": "未就绪", "offline": "离线", "offered": "来电",
        "on_call": "通话中", "wrap_up": "话后整理", "not_responding": "未应答",
        "offer": "来电弹屏", "no_offer": "暂无来电", "accept": "接听", "caller": "来电号码",
        "waybill": "运单号", "category": "投诉类型", "line": "队列", "history": "物流轨迹", "ivr": "语音导航记录",
        "earlier": "历史工单", "kept_place": "排队回电", "disposition": "处理结果", "notes": "备注", "finish": "结束通话",
        "tickets": "工单", "my_tickets": "我的工单", "all_tickets": "全部工单", "search": "搜索工单号/运单号/姓名",
        "any_status": "全部状态", "open_only": "未闭环",
        "number": "工单号", "status": "状态", "owner": "负责人", "first_response": "首次响应",
        "closure": "闭环", "breached": "已超时", "met": "已达成", "left": "剩余", "due": "截止",
        "callback": "预约回电", "phone": "电话", "slot": "时段",
        "book": "预约", "soonest": "尽快", "afternoon": "今天下午", "tomorrow_morning": "明天上午",
        "booked": "已预约回电", "moved": "（已顺延）",
        "resolved": "已解决", "ticket_opened": "已建工单", "callback_booked": "已约回电", "transferred": "已转接",
        "no_action": "无需处理", "error": "出错了",
        "new_ticket": "新建工单", "name": "客户姓名", "demand": "诉求", "create": "提交工单", "save": "保存",
        "ticket_detail": "工单详情", "actions": "处理", "created": "已建工单", "linked": "已并入在办工单",
        "created_at": "创建时间", "channel": "来源",
        "compensation": "要求赔偿", "redelivery": "尽快派送", "refund": "退还运费", "explanation": "给个说法",
        "assign": "受理", "respond": "首次响应", "forward_to_branch": "转网点", "record_result": "录入网点结果",
        "confirm_with_customer": "客户确认", "close": "闭环", "escalate": "升级主管", "reopen": "重开",
        "unverified": "身份未核实", "offer_expires": "秒内未接听将转给其他坐席",
        "wrap_up_left": "剩余", "seconds": "秒", "hung_up": "客户已挂机",
        "new_call_title": "【来电】", "session_expired": "登录已过期，请重新登录", "relogin": "重新登录",
        "not_responding_why": "上一通来电未在规定时间内接听，状态已置为未应答；请重新选择就绪。",
        "roles": {"agent": "坐席", "supervisor": "主管"},
        "languages": {"zh-CN": "中文", "en-US": "英文", "ko-KR": "韩文"},
        "channels": {"hotline": "热线", "console": "工作台", "voicemail": "留言", "web": "网页"},
        "general": "综合咨询",
        **{c.value: name for c, name in CATEGORY_NAMES_ZH.items()},
        "statuses": _ZH_STATUSES,
        "parcel_statuses": {s.value: name for s, name in STATUS_NAMES_ZH.items()}, "minutes": "分钟",
        "hours": "小时", "days": "天",
        "events": {"opened": "建单", "note": "备注", "edited": "修改", "repeat_complaint": "重复投诉",
                   "claim": "理赔核定", "survey": "满意度回访", "survey_comment": "回访留言"},
        # The wallboard.
        "wallboard": "实时监控", "lines": "队列", "waiting": "排队", "longest_wait": "最长等待",
        "agents": "坐席", "agent_name": "姓名", "time_in_state": "本状态时长", "calls_today": "今日来电",
        "listen_in": "监听", "stop_listening": "停止监听", "listening": "正在监听{name}的通话",
        "whisper": "耳语（仅坐席可听到）", "stop_whisper": "停止耳语",
        "in_ivr": "语音导航中", "answered_today": "今日接通", "service_level": "服务水平",
        "average_speed_of_answer_s": "平均应答时长", "abandoned_today": "放弃", "average_handling_s": "平均处理时长",
        "ivr_containment": "自助完成率", "after_hours_today": "非工作时间来电",
        "speech_recognised": "语音识别成功", "keypad_fallbacks": "转按键",
        "sla_breaches": "工单超时", "updated": "更新于", "todays_report": "今日报表", "weekly_report": "本周报表",
        "supervisor_only": "需要主管权限", "no_agents_on_line": "无坐席",
        # The browser phone.
        "muted": "已静音", "on_hold": "保持中（客户在听等待音乐）", "call_ended": "通话已结束",
        "mute": "静音", "unmute": "取消静音", "hold": "保持", "resume": "恢复通话", "hang_up": "挂断",
        "caller_level": "对方音量", "microphone_unavailable": "麦克风不可用", "phone_unavailable": "网页电话不可用",
        # Why the browser gave no microphone, by the error's name (its message is the browser's English).
        "microphone_errors": {"NotFoundError": "未找到麦克风，请接上耳麦后刷新页面",
                              "NotAllowedError": "浏览器未允许使用麦克风，请在地址栏旁允许后刷新页面",
                              "NotReadableError": "麦克风被其他程序占用"},
        "phone_ready": "网页电话已就绪", "record_disposition": "提交处理结果",
        "transfer": "转接", "transfer_to": "转接给", "transfer_agents": "就绪坐席",
        "transfer_now": "确认转接", "cancel": "取消", "transferred_from": "转自", "no_agent_available": "暂无就绪坐席",
        # Not-ready reasons (a break's), and the agent's own day.
        "reasons": {"rest": "休息", "meal": "用餐", "training": "培训", "meeting": "会议", "coaching": "辅导"},
        "reason": "原因", "my_day": "我的今日", "calls_handled": "接听", "tickets_opened": "建单",
        "linked_ticket": "关联工单",
        # The softphone: a caller's phone in the browser, for trying the hotline.
        "softphone": {"title": "网页电话", "caller_id": "来电号码",
                      "caller_id_why": "热线按来电号码识别客户；留空即未知号码", "call": "拨打热线",
                      "idle": "空闲", "on_the_line": "通话中", "waiting": "排队等待坐席，前面还有{ahead}位",
                      "next": "排队等待坐席，下一位就是您", "talking": "坐席已接听", "left_queue": "已离开排队",
                      "on_hold": "通话保持中，请稍候", "transferring": "正在为您转接，请稍候", "ended": "已挂断",
                      "pressed": "按键", "transcript": "通话记录", "no_hold_music": "等待音乐无法播放"},
    },
    "en": {
        "title": "Agent console", "login": "Log in", "username": "Username", "password": "Password", "logout": "Log out",
        "state": "State", "available": "Available", "break": "Not ready", "offline": "Offline", "offered": "Offered",
        "on_call": "On call", "wrap_up": "Wrap-up", "not_responding": "Not responding",
        "offer": "Incoming call", "no_offer": "No call offered", "accept": "Accept", "caller": "Caller",
        "waybill": "Waybill", "category": "Complaint", "line": "Queue", "history": "Parcel history", "ivr": "In the IVR",
        "earlier": "Earlier tickets", "kept_place": "Kept place (callback)", "disposition": "Disposition",
        "notes": "Notes", "finish": "End call", "tickets": "Tickets", "my_tickets": "My tickets",
        "all_tickets": "All tickets", "search": "Search number, waybill, name", "any_status": "Any status",
        "open_only": "Open", "number": "Number", "status": "Status",
        "owner": "Owner", "first_response": "First response", "closure": "Closure", "breached": "breached",
        "met": "met", "left": "left", "due": "due",
        "callback": "Book a callback", "phone": "Phone", "slot": "Slot", "book": "Book", "soonest": "Soonest",
        "afternoon": "This afternoon", "tomorrow_morning": "Tomorrow morning", "booked": "Callback booked",
        "moved": " (moved later)", "resolved": "Resolved",
        "ticket_opened": "Ticket opened", "callback_booked": "Callback booked", "transferred": "Transferred",
        "no_action": "No action", "error": "Error",
        "new_ticket": "New ticket", "name": "Customer name", "demand": "Demand", "create": "Open ticket", "save": "Save",
        "ticket_detail": "Ticket", "actions": "Actions", "created": "Ticket opened",
        "linked": "Added to the open ticket", "created_at": "Created", "channel": "Channel",
        "compensation": "Compensation", "redelivery": "Redeliver soon",
        "refund": "Refund the fee", "explanation": "An explanation", "assign": "Take", "respond": "First response",
        "forward_to_branch": "Forward to branch", "record_result": "Branch result", "confirm_with_customer":
        "Customer confirmed", "close": "Close", "escalate": "Escalate", "reopen": "Reopen",
        "unverified": "Identity not verified", "offer_expires": "s before the call goes to another agent",
        "wrap_up_left": "left", "seconds": "s", "hung_up": "The caller hung up",
        "new_call_title": "[Call] ", "session_expired": "Your session has expired: log in again",
        "relogin": "Log in again",
        "not_responding_why": "The last call was not answered in time, so you were set not responding; "
                              "choose Available again.",
        "roles": {"agent": "agent", "supervisor": "supervisor"},
        "languages": {"zh-CN": "Chinese", "en-US": "English", "ko-KR": "Korean"},
        "channels": {"hotline": "hotline", "console": "console", "voicemail": "voicemail", "web": "web"},
        "general": "General",
        **{c.value: c.value.replace("_", " ") for c in ComplaintCategory},
        "statuses": {s.value: s.value.replace("_", " ") for s in TicketStatus},
        "parcel_statuses": {s.value: s.value.replace("_", " ") for s in ParcelStatus}, "minutes": "min",
        "hours": "h", "days": "d",
        "events": {"opened": "Opened", "note": "Note", "edited": "Edited", "repeat_complaint": "Repeat complaint",
                   "claim": "Claim assessed", "survey": "Satisfaction survey", "survey_comment": "Survey comment"},
        "wallboard": "Wallboard", "lines": "Queues", "waiting": "Waiting", "longest_wait": "Longest wait",
        "agents": "Agents", "agent_name": "Name", "time_in_state": "Time in state", "calls_today": "Calls today",
        "listen_in": "Listen in", "stop_listening": "Stop listening", "listening": "Listening to {name}'s call",
        "whisper": "Whisper (the agent alone hears you)", "stop_whisper": "Stop whispering",
        "in_ivr": "In IVR", "answered_today": "Answered", "service_level": "Service level",
        "average_speed_of_answer_s": "Average speed of answer", "abandoned_today": "Abandoned",
        "average_handling_s": "Average handling", "ivr_containment": "IVR containment", "after_hours_today": "After hours",
        "speech_recognised": "Speech recognised", "keypad_fallbacks": "Keypad fallbacks",
        "sla_breaches": "SLA breaches", "updated": "Updated", "todays_report": "Today's report",
        "weekly_report": "This week's report", "supervisor_only": "Supervisors only",
        "no_agents_on_line": "no agent",
        "muted": "Muted", "on_hold": "On hold (the caller hears hold music)", "call_ended": "Call ended",
        "mute": "Mute", "unmute": "Unmute", "hold": "Hold", "resume": "Resume", "hang_up": "Hang up",
        "caller_level": "Caller's level", "microphone_unavailable": "Microphone unavailable",
        "microphone_errors": {"NotFoundError": "No microphone found: plug in a headset and reload the page",
                              "NotAllowedError": "The browser has not allowed the microphone: allow it and reload",
                              "NotReadableError": "The microphone is in use by another program"},
        "phone_unavailable": "Browser phone unavailable", "phone_ready": "Browser phone ready",
        "softphone": {"title": "Softphone", "caller_id": "Caller ID",
                      "caller_id_why": "the hotline knows customers by their number; blank: an unknown number",
                      "call": "Call the hotline", "idle": "Idle", "on_the_line": "On the line",
                      "waiting": "Waiting for an agent: {ahead} ahead of you", "next": "Waiting for an agent: you are next",
                      "talking": "Talking to an agent", "left_queue": "Left the queue", "on_hold": "On hold, please wait",
                      "transferring": "Transferring you, please wait", "ended": "Ended", "pressed": "Pressed",
                      "transcript": "What the hotline said", "no_hold_music": "Hold music could not play"},
        "record_disposition": "Record disposition",
        "transfer": "Transfer", "transfer_to": "Transfer to", "transfer_agents": "Available agents",
        "transfer_now": "Transfer now", "cancel": "Cancel",
        "transferred_from": "Transferred from", "no_agent_available": "No agent available",
        "reasons": {"rest": "Rest", "meal": "Meal", "training": "Training", "meeting": "Meeting", "coaching": "Coaching"},
        "reason": "Reason", "my_day": "My day", "calls_handled": "Calls", "tickets_opened": "Tickets opened",
        "linked_ticket": "Ticket",
    },
}

# The API's errors: `error` stays English (scripts and logs read it), `message` is in the
# session's language; both from these templates.
MESSAGES = {
    "en": {
        "json_required": "send JSON (Content-Type: application/json)",
        "body_not_object": "the body must be a JSON object",
        "field_required": "{field} is required",
        "field_choice": "{field} must be one of {choices}",
        "field_too_long": "{field} is longer than {limit} characters",
        "field_format": "{field} must look like {example}",
        "phone_digits": f"phone must have {PHONE_NUMBER_RULE}",
        "cannot_change": "cannot change {fields}",
        "report_years": "reports cover the years {first} to {last}",
        "report_period": "{detail}",
        "report_kind": "reports are daily or weekly",
        "callback_refused": "no callback booked: {detail}",
        "call_not_connected": "the call could not be connected ({detail})",
        "acd_refused": "{detail}",
        "ticket_transition": "{detail}",
        "ticket_not_found": "no ticket {id}",
        "ticket_not_yours": "ticket {number} is {owner}'s",
        "wrong_login": "wrong username or password",
        "login_locked": "too many failed logins: try again in {minutes} minutes",
        "cross_site": "cross-site request refused",
        "not_logged_in": "log in first",
        "supervisor_only": "not authorized",
        "browser_phone_not_configured": "no Twilio browser phone is configured (TWILIO_API_KEY, TWILIO_API_SECRET, "
                                        "TWILIO_TWIML_APP_SID): the console uses the local audio bridge",
        "call_not_yours": "call {call} is not on your line",
        "caller_id_invalid": f"the caller ID must be a phone number: {PHONE_NUMBER_RULE}",
        "storage_out_of_reach": "the hotline's database or Redis is out of reach: try again shortly",
        "transfer_target": "transfer to an agent or to a line (one of the two)",
        "agent_unavailable": "{name} is not available to take a call",
        "line_unserved": "no agent serves the line {line}",
        "http_error": "{detail}",
    },
    "zh-CN": {
        "json_required": "请求格式错误（需要 JSON）",
        "body_not_object": "请求格式错误（需要 JSON 对象）",
        "field_required": "请填写{field}",
        "field_choice": "{field}的取值无效",
        "field_too_long": "{field}不能超过 {limit} 个字符",
        "field_format": "{field}格式应如 {example}",
        "phone_digits": "电话号码应为7到12位数字（国际号码以+和国家代码开头，最多15位）",
        "cannot_change": "不能修改：{fields}",
        "report_years": "报表只覆盖 {first} 到 {last} 年",
        "report_period": "报表周期无效",
        "report_kind": "报表只有日报和周报",
        "callback_refused": "未能预约回电：该号码不可回拨或今日回拨次数已满",
        "call_not_connected": "电话未能接通，客户可能已挂机",
        "acd_refused": "操作未完成：来电已转走或状态已变化",
        "ticket_transition": "工单当前状态不允许此操作",
        "ticket_not_found": "找不到工单 {id}",
        "ticket_not_yours": "工单 {number} 的负责人是 {owner}，您只能查看",
        "wrong_login": "工号或密码错误",
        "login_locked": "登录失败次数过多，请 {minutes} 分钟后再试",
        "cross_site": "拒绝跨站请求",
        "not_logged_in": "请先登录",
        "supervisor_only": "需要主管权限",
        "browser_phone_not_configured": "未配置 Twilio 网页电话，工作台使用本机语音桥接",
        "call_not_yours": "这通来电不在您的线路上",
        "caller_id_invalid": "来电号码应为7到12位数字（国际号码以+和国家代码开头，最多15位）",
        "storage_out_of_reach": "系统数据暂时无法访问，请稍后重试",
        "transfer_target": "请选择转接给一位坐席或一个队列（二选一）",
        "agent_unavailable": "{name}当前不是就绪状态，无法接听转接",
        "line_unserved": "该队列没有坐席服务，无法转接",
        "http_error": "请求失败",
    },
}

# Field names in messages.
FIELDS = {"zh-CN": {"username": "工号", "password": "密码", "state": "状态", "call_sid": "来电",
                    "disposition": "处理结果", "category": "投诉类型", "name": "客户姓名", "phone": "电话",
                    "waybill": "运单号", "demand": "诉求", "slot": "时段", "date": "日期", "week": "周",
                    "format": "格式", "language": "语言", "carrier": "快递公司", "reason": "原因",
                    "ticket": "工单", "agent": "坐席", "line": "队列", "on": "保持"}}


# Why an agent is not ready (a break's reason): codes, the words above.
NOT_READY_REASONS = tuple(WORDS[DEFAULT_LANGUAGE]["reasons"])


def request_language() -> str:
    """The session's language: ?lang= on a page, Accept-Language from the pages' API calls."""
    asked = request.args.get("lang")
    if asked in ("en", "en-US"):
        return "en"
    if asked:
        return DEFAULT_LANGUAGE
    best = request.accept_languages.best_match(("zh-CN", "zh", "en"), default=DEFAULT_LANGUAGE)
    return "en" if best == "en" else DEFAULT_LANGUAGE


def page_language() -> str:
    """A page's language: ?lang=en for English, Chinese otherwise (whatever the browser prefers:
    the hotline's staff read Chinese)."""
    return "en" if request.args.get("lang") in ("en", "en-US") else DEFAULT_LANGUAGE


def message(code: str, language: str, **params) -> str:
    if "field" in params:
        params["field"] = FIELDS.get(language, {}).get(params["field"], params["field"])
    return MESSAGES[language][code].format(**params)


def line_name(line: str, language: str) -> str:
    """A queue code ("zh-CN:damaged") as words ("中文·破损")."""
    words = WORDS[language]
    hotline_language, _, category = line.partition(":")
    return f"{words['languages'].get(hotline_language, hotline_language)}·{words.get(category, category)}"


# The reports' words (reports.export renders them): every key and code a report shows.
REPORT_WORDS = {
    "zh-CN": {
        "lang": "zh-CN", "title": "客服报表", "scope_language": "语言", "scope_carrier": "快递公司", "all": "全部", "none": "无",
        "by_hour": "分时来电量", "by_day": "每日来电量", "hour": "时", "cases": "次数",
        "sections": {"calls": "通话", "tickets": "工单", "satisfaction": "满意度", "hot_spots": "热点"},
        "routes": "线路", "scan_locations": "扫描网点", "where": "位置", "causes": "原因",
        "labels": {"total": "总量", "by_language": "按语言", "by_carrier": "按快递公司", "by_outcome": "按结果",
                  "average_handling_s": "平均处理时长（秒）", "contained_in_ivr": "自助完成率", "abandoned": "放弃",
                  "by_category": "按投诉类型", "first_response_in_time": "首次响应及时率",
                  "closed_in_time": "闭环及时率", "average_closure_h": "平均闭环时长（小时）",
                  "surveys_due": "应回访", "reached": "已回访", "callback_rate": "回访率",
                  "average_score": "平均满意度", "self_served": "自助完成", "after_hours": "非工作时间来电"},
        "codes": {"self_served": "自助完成", "self_service": "自助完成", "complaint_filed": "已建投诉",
                  "ticket_created": "已建工单", "callback_booked": "已约回电", "transferred": "转人工",
                  "answered_by_agent": "人工接听", "agent_missed": "坐席未接通", "abandoned": "排队放弃",
                  "kept_place": "排队回电", "after_hours": "非工作时间未留言", "ended_in_ivr": "导航结束未办理",
                  "caller_hung_up": "客户挂机", "queue_redirected": "转出排队", "queue_leave": "离开排队",
                  "queue_left": "离开排队", "queue_error": "排队出错", "queue_system-error": "排队出错",
                  "queue_queue-full": "排队已满", "machine": "答录机",
                  "agent": "人工接听", "failed": "失败", "complaint": "投诉",
                  "weather": "天气影响", "traffic_control": "交通管制", "backlog": "爆仓",
                  "address_problem": "地址问题", **{c.value: n for c, n in CATEGORY_NAMES_ZH.items()},
                  **{c.code: c.name_zh for c in CARRIERS.values()},
                  "zh-CN": "中文", "en-US": "英文", "ko-KR": "韩文", "none": "无"},
    },
    "en": {
        "lang": "en", "title": "Hotline report", "scope_language": "Language", "scope_carrier": "Carrier", "all": "all",
        "none": "none", "by_hour": "Calls by hour", "by_day": "Calls by day", "hour": "hour", "cases": "cases",
        "sections": {"calls": "Calls", "tickets": "Tickets", "satisfaction": "Satisfaction", "hot_spots": "Hot spots"},
        "routes": "Routes", "scan_locations": "Scan locations", "where": "Where", "causes": "Causes",
        "labels": {"total": "Total", "by_language": "By language", "by_carrier": "By carrier", "by_outcome": "By outcome",
                  "average_handling_s": "Average handling (s)", "contained_in_ivr": "Contained in the IVR",
                  "abandoned": "Abandoned", "by_category": "By complaint", "first_response_in_time":
                  "First response in time", "closed_in_time": "Closed in time",
                  "average_closure_h": "Average closure (h)", "surveys_due": "Surveys due", "reached": "Reached",
                  "callback_rate": "Survey rate", "average_score": "Average score", "self_served": "Self-served",
                  "after_hours": "After hours"},
        "codes": {"self_served": "self-served", "self_service": "self-served", "complaint_filed": "complaint filed",
                  "ticket_created": "ticket created", "callback_booked": "callback booked",
                  "transferred": "sent to an agent", "answered_by_agent": "answered by an agent",
                  "agent_missed": "agent missed", "abandoned": "abandoned in line", "kept_place": "kept place",
                  "after_hours": "after hours", "ended_in_ivr": "ended in the IVR", "caller_hung_up": "caller hung up",
                  "queue_redirected": "left the queue", "queue_leave": "left the queue", "queue_left": "left the queue",
                  "queue_error": "queue error", "queue_system-error": "queue error", "queue_queue-full": "queue full",
                  "machine": "answering machine", "agent": "agent", "failed": "failed", "complaint": "complaint",
                  "weather": "weather", "traffic_control": "traffic control", "backlog": "backlog",
                  "address_problem": "address problem", **{c.value: c.value.replace("_", " ") for c in ComplaintCategory},
                  **{c.code: c.name_en for c in CARRIERS.values()},
                  "zh-CN": "Chinese", "en-US": "English", "ko-KR": "Korean", "none": "none"},
    },
}
