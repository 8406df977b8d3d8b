"""Console strings in Chinese and English. The language follows the ``jubao_lang`` cookie (set by
the switch link), else the browser's ``Accept-Language``, else Chinese."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["LANGUAGES", "MESSAGES", "Translator", "choose_language"]

LANGUAGES = ("zh", "en")
LANG_COOKIE = "jubao_lang"

# key: (Chinese, English). Placeholders use str.format names.
MESSAGES: Mapping[str, tuple[str, str]] = {
    "app.title": ("聚宝控制台", "jubao console"),
    "lang.switch": ("English", "中文"),
    "nav.dashboard": ("概览", "Dashboard"),
    "nav.orders": ("订单", "Orders"),
    "nav.merchants": ("商户", "Merchants"),
    "nav.vendors": ("服务商", "Vendors"),
    "nav.logout": ("退出", "Log out"),
    "login.title": ("登录", "Log in"),
    "login.token": ("管理令牌", "Admin token"),
    "login.submit": ("登录", "Log in"),
    "login.wrong": ("令牌不正确", "Wrong token"),
    "login.throttled": (
        "错误尝试过多，请 {seconds} 秒后再试",
        "Too many wrong tokens: try again in {seconds} s",
    ),
    "login.disabled": (
        "控制台未启用：请设置管理令牌 JUBAO_ADMIN_TOKEN 后重启",
        "The console is disabled: set the admin token JUBAO_ADMIN_TOKEN and restart",
    ),
    "csrf.failed": (
        "表单已过期或来源不明，请刷新页面后重试",
        "The form expired or did not come from this console; reload the page and try again",
    ),
    "form.too_large": ("表单内容过大", "The form is too large"),
    "dash.today_orders": ("今日订单", "Orders today"),
    "dash.today_paid": ("今日收款（元）", "Paid today (yuan)"),
    "dash.success_rate": ("今日支付成功率", "Success rate today"),
    "dash.backlog": ("待发送通知", "Notifications pending"),
    "dash.failed": ("发送失败的通知", "Notifications failed"),
    "dash.worker_missing": (
        "商户通知已到期但没有 worker 在发送：请启动 jubao worker",
        "Notifications are due but no worker is sending them: start `jubao worker`",
    ),
    "dash.chart": ("近 7 日收款（元）", "Paid, last 7 days (yuan)"),
    "orders.title": ("订单", "Orders"),
    "orders.search": ("订单号 / 商户订单号", "order_sn / merchant_order_sn"),
    "orders.state": ("状态", "State"),
    "orders.store": ("门店", "Store"),
    "orders.date": ("下单日期", "Created on"),
    "orders.any": ("全部", "Any"),
    "orders.filter": ("筛选", "Filter"),
    "orders.reset": ("清除", "Clear"),
    "orders.none": ("没有符合条件的订单", "No orders match"),
    "orders.total": ("共 {count} 笔", "{count} orders"),
    "orders.prev": ("上一页", "Previous"),
    "orders.next": ("下一页", "Next"),
    "orders.page": ("第 {page} / {pages} 页", "Page {page} of {pages}"),
    "col.order_sn": ("订单号", "order_sn"),
    "col.merchant_order_sn": ("商户订单号", "merchant_order_sn"),
    "col.merchant": ("商户", "Merchant"),
    "col.store": ("门店", "Store"),
    "col.amount": ("金额（元）", "Amount (yuan)"),
    "col.refunded": ("已退款（元）", "Refunded (yuan)"),
    "col.state": ("状态", "State"),
    "col.created": ("下单时间", "Created"),
    "col.paid": ("支付时间", "Paid"),
    "col.time": ("时间", "Time"),
    "col.event": ("事件", "Event"),
    "col.detail": ("详情", "Detail"),
    "col.name": ("名称", "Name"),
    "col.id": ("编号", "ID"),
    "channel.wechatpay": ("微信支付", "WeChat Pay"),
    "channel.alipay": ("支付宝", "Alipay"),
    "channel.unionpay": ("银联", "UnionPay"),
    "scene.mina": ("小程序", "Mini-program"),
    "scene.jsapi": ("公众号/生活号", "In-wallet page (JSAPI)"),
    "scene.native": ("扫码（顾客扫）", "QR code (customer scans)"),
    "scene.barcode": ("付款码（收银扫）", "Payment code (till scans)"),
    "scene.h5": ("H5", "H5 (mobile browser)"),
    "order.channel_scene": ("通道 / 场景", "Channel / scene"),
    "state.USERPAYING": ("待支付", "Awaiting payment"),
    "state.SUCCESS": ("已支付", "Paid"),
    "state.CLOSED": ("已关闭", "Closed"),
    "state.REVOKING": ("撤销中", "Reversing"),
    "state.REVOKED": ("已撤销", "Reversed"),
    "state.REVOKED_ERROR": ("撤销失败", "Reverse failed"),
    "orders.channel": ("通道", "Channel"),
    "orders.scene": ("场景", "Scene"),
    "col.channel": ("通道", "Channel"),
    "col.scene": ("场景", "Scene"),
    "order.qr_code": (
        "收款二维码（顾客用微信扫一扫）",
        "QR code (the customer scans it with WeChat)",
    ),
    "order.title": ("订单 {order_sn}", "Order {order_sn}"),
    "order.payer": ("付款人 openid", "Payer openid"),
    "order.platform_no": ("微信支付单号", "WeChat transaction"),
    "order.body": ("商品描述", "Description"),
    "order.callback": ("回调地址", "Callback URL"),
    "order.timeline": ("时间线", "Timeline"),
    "order.refunds": ("退款", "Refunds"),
    "order.no_refunds": ("暂无退款", "No refunds"),
    "order.notifications": ("商户通知", "Merchant notifications"),
    "order.no_notifications": ("暂无通知", "No notifications"),
    "order.refund_amount": ("退款金额（元）", "Refund amount (yuan)"),
    "order.refund_submit": ("退款", "Refund"),
    "order.refundable": ("可退 {amount} 元", "{amount} yuan refundable"),
    "order.refund_done": (
        "退款已提交：{refund_sn}（{status}）",
        "Refund submitted: {refund_sn} ({status})",
    ),
    "order.refund_error": ("退款失败：{message}", "Refund refused: {message}"),
    "order.resend": ("重新发送", "Resend"),
    "order.resent": ("通知已重新排队发送", "The notification is queued to be sent again"),
    "order.pay": ("模拟付款", "Pay as the payer"),
    "refund.sn": ("退款单号", "refund_sn"),
    "refund.merchant_sn": ("商户退款单号", "merchant_refund_sn"),
    "refund.status": ("状态", "Status"),
    "refund.finished": ("完成时间", "Finished"),
    "notify.kind": ("类型", "Kind"),
    "notify.status": ("状态", "Status"),
    "notify.attempts": ("本轮已尝试 {count} 次", "attempts this round: {count}"),
    "notify.next": ("下次发送", "Next attempt"),
    "notify.http": ("HTTP 状态", "HTTP status"),
    "notify.answer": ("应答", "Answer"),
    "notify.duration": ("耗时", "Duration"),
    "notify.error": ("错误", "Error"),
    "notify.no_attempts": ("尚未发送", "Not sent yet"),
    "notify.payload": ("通知内容", "Payload"),
    "event.CREATED": ("下单", "Created"),
    "event.PREPAY": ("通道预下单", "Channel prepay"),
    "event.PAID": ("支付成功", "Paid"),
    "event.PAYMENT_REFUSED": ("支付通知被拒", "Payment notice refused"),
    "event.CLOSED": ("关闭", "Closed"),
    "event.DECLINED": ("付款码被拒", "Payment code declined"),
    "event.REVOKING": ("撤销中", "Reversing"),
    "event.REVOKED": ("已撤销", "Reversed"),
    "event.REVOKED_ERROR": ("撤销失败", "Reverse failed"),
    "event.REFUND_REQUESTED": ("申请退款", "Refund requested"),
    "event.REFUND_SUCCESS": ("退款成功", "Refund succeeded"),
    "event.REFUND_FAILED": ("退款失败", "Refund failed"),
    "event.REFUND_REPORT_REFUSED": (
        "退款通知与退款单不符，已拒绝",
        "Refund report refused (mismatch)",
    ),
    "event.NOTIFY_SKIPPED": ("未通知（无回调地址）", "Not notified (no callback URL)"),
    "event.NOTIFY_RESEND": ("重发通知", "Notification resent"),
    "event.NOTIFY_ATTEMPT": ("通知商户", "Merchant notified"),
    "merchants.title": ("商户", "Merchants"),
    "merchants.none": ("还没有商户", "No merchants yet"),
    "merchants.create": ("新建商户", "New merchant"),
    "merchants.name": ("商户名称", "Merchant name"),
    "merchants.alipay_pid": ("支付宝 PID", "Alipay PID"),
    "merchants.alipay_token": ("支付宝 app_auth_token", "Alipay app_auth_token"),
    "merchants.alipay_bind": ("绑定支付宝", "Bind Alipay"),
    "merchants.sub_mchid": ("子商户号 sub_mchid", "Sub-merchant id (sub_mchid)"),
    "merchants.sub_appid": ("子商户 AppID sub_appid", "Sub-merchant AppID (sub_appid)"),
    "merchants.callback": ("默认回调地址（可选）", "Default callback URL (optional)"),
    "merchants.create_submit": ("创建商户和应用", "Create merchant and app"),
    "apps.title": ("应用", "Apps"),
    "apps.create": ("新建应用", "New app"),
    "apps.rotate": ("更换密钥", "Rotate secret"),
    "apps.rotate_confirm": ("旧密钥将立即失效", "The old secret stops working"),
    "stores.title": ("门店", "Stores"),
    "stores.create": ("新建门店", "New store"),
    "stores.name": ("门店名称", "Store name"),
    "cashiers.title": ("收银员", "Cashiers"),
    "cashiers.create": ("新建收银员", "New cashier"),
    "cashiers.name": ("收银员名称", "Cashier name"),
    "form.create": ("创建", "Create"),
    "form.required": ("请填写 {field}", "{field} is required"),
    "form.invalid": ("{field} 无效", "{field} is not valid"),
    "secret.title": ("应用密钥", "App secret"),
    "secret.once": (
        "密钥只显示这一次，请立即保存；离开本页后无法再次查看。",
        "The secret is shown this once: store it now. It cannot be shown again.",
    ),
    "secret.back": ("返回商户列表", "Back to merchants"),
    "secret.vendor_title": ("服务商密钥", "Vendor secret"),
    "secret.back_vendors": ("返回服务商列表", "Back to vendors"),
    "vendors.title": ("服务商", "Vendors"),
    "vendors.about": (
        "服务商用 vendor_sn 和服务商密钥调用开放平台 2.0（/gateway/agent），"
        "只能代自己名下的商户下单。",
        "Vendors sign Open API 2.0 (/gateway/agent) with vendor_sn and the vendor secret, "
        "for their own merchants only.",
    ),
    "vendors.none": ("还没有服务商", "No vendors yet"),
    "vendors.create": ("新建服务商", "New vendor"),
    "vendors.name": ("服务商名称", "Vendor name"),
    "vendors.merchants": ("商户数", "Merchants"),
    "merchants.vendor": ("所属服务商", "Vendor"),
    "merchants.vendor_none": ("无", "none"),
    "col.api": ("接口版本", "API"),
    "order.api": ("接口版本 / 下单凭证", "API / created by"),
    "api.1.0": ("1.0", "1.0"),
    "api.2.0": ("2.0", "2.0"),
    "payer.title": ("模拟付款", "Simulated payer"),
    "payer.merchant": ("收款方", "Payee"),
    "payer.amount": ("付款金额", "Amount"),
    "payer.button": ("支付", "Pay"),
    "payer.sandbox": ("沙箱：不会产生真实扣款", "Sandbox: no real money moves"),
    "payer.paid": ("支付成功", "Payment successful"),
    "payer.pending": ("已付款，等待支付结果通知…", "Paid; waiting for the payment notice…"),
    "payer.failed": ("支付失败：{message}", "Payment failed: {message}"),
    "payer.not_payable": ("该订单无法支付（{state}）", "This order cannot be paid ({state})"),
    "payer.back": ("查看订单", "View the order"),
    "payer.unavailable": ("只有沙箱提供模拟付款", "Only the sandbox has a simulated payer"),
    "common.yes": ("是", "yes"),
    "common.none": ("—", "—"),
    "common.not_found": ("找不到该页面", "Not found"),
}


def choose_language(cookie: str | None, accept_language: str | None) -> str:
    """The cookie wins; then the highest-weighted supported language in Accept-Language."""
    if cookie in LANGUAGES:
        return cookie
    best, best_q = "zh", -1.0
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in LANGUAGES:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        q -= index * 1e-6  # equal weights: the earlier tag wins
        if q > best_q:
            best, best_q = primary, q
    return best


@dataclass(frozen=True, slots=True)
class Translator:
    lang: str

    def __call__(self, key: str, **values: object) -> str:
        zh, en = MESSAGES[key]
        text = en if self.lang == "en" else zh
        return text.format(**values) if values else text

    def label(self, prefix: str, code: str) -> str:
        """A translated name for a code (``state.SUCCESS``), or the code itself when unknown."""
        pair = MESSAGES.get(f"{prefix}.{code}")
        if pair is None:
            return code
        return pair[1] if self.lang == "en" else pair[0]

    @property
    def other(self) -> str:
        return "zh" if self.lang == "en" else "en"
