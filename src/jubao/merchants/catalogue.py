"""A merchant's own stores and cashiers, paged (``openapi.payment.store.query`` and
``.cashier.query``), and the store categories jubao ships (``openapi.store.category``).

Every query is scoped by the merchant: another merchant's store or cashier is never found, it
looks exactly like one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from jubao.merchants.models import Cashier, Store
from jubao.storage.sql import Tx, fetch_all

__all__ = [
    "CATEGORIES",
    "Category",
    "categories_under",
    "is_category",
    "merchant_cashiers",
    "merchant_stores",
]


def _like_pattern(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern (escape character ``\\``)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def merchant_stores(
    merchant_id: int, name_contains: str | None, store_id: int | None, limit: int, offset: int
) -> Tx[list[Store]]:
    """The merchant's stores by id; ``name_contains`` ignores the case of ASCII letters (LOWER
    on both sides, so SQLite and PostgreSQL agree)."""
    sql = "SELECT store_id, merchant_id, name FROM stores WHERE merchant_id = ?"
    params: list[object] = [merchant_id]
    if store_id is not None:
        sql += " AND store_id = ?"
        params.append(store_id)
    if name_contains:
        sql += " AND LOWER(name) LIKE ? ESCAPE '\\'"
        params.append(_like_pattern(name_contains))
    sql += " ORDER BY store_id LIMIT ? OFFSET ?"
    rows = (yield fetch_all(sql, *params, limit, offset)).rows
    return [Store(int(row["store_id"]), int(row["merchant_id"]), row["name"]) for row in rows]


def merchant_cashiers(
    merchant_id: int, store_id: int | None, limit: int, offset: int
) -> Tx[list[Cashier]]:
    """The cashiers of the merchant's stores (of one of them with ``store_id``), by id."""
    sql = (
        "SELECT c.cashier_id, c.store_id, c.name FROM cashiers c "
        "JOIN stores s ON s.store_id = c.store_id WHERE s.merchant_id = ?"
    )
    params: list[object] = [merchant_id]
    if store_id is not None:
        sql += " AND c.store_id = ?"
        params.append(store_id)
    sql += " ORDER BY c.cashier_id LIMIT ? OFFSET ?"
    rows = (yield fetch_all(sql, *params, limit, offset)).rows
    return [Cashier(int(row["cashier_id"]), int(row["store_id"]), row["name"]) for row in rows]


@dataclass(frozen=True, slots=True)
class Category:
    category_id: int
    category_name: str
    parent_id: int  # 0: top level


# jubao's own small catalogue: Fubei's category ids are not public, and jubao's stores carry no
# category, so these are a stable, documented list for clients that show a picker
# (docs/protocol.md). Top-level ids are 1-9, their children 100 * parent + n.
CATEGORIES: tuple[Category, ...] = (
    Category(1, "餐饮", 0),
    Category(101, "中餐", 1),
    Category(102, "快餐小吃", 1),
    Category(103, "饮品甜品", 1),
    Category(104, "烘焙", 1),
    Category(2, "零售", 0),
    Category(201, "超市便利店", 2),
    Category(202, "服饰鞋包", 2),
    Category(203, "数码家电", 2),
    Category(204, "生鲜果蔬", 2),
    Category(3, "生活服务", 0),
    Category(301, "美容美发", 3),
    Category(302, "洗衣家政", 3),
    Category(303, "维修服务", 3),
    Category(4, "休闲娱乐", 0),
    Category(401, "运动健身", 4),
    Category(402, "电影演出", 4),
    Category(403, "KTV", 4),
    Category(5, "酒店住宿", 0),
    Category(501, "酒店", 5),
    Category(502, "民宿", 5),
    Category(6, "教育培训", 0),
    Category(7, "医疗健康", 0),
    Category(701, "药店", 7),
    Category(702, "诊所", 7),
    Category(8, "交通出行", 0),
    Category(9, "其他", 0),
)


def categories_under(parent_id: int) -> list[Category]:
    return [category for category in CATEGORIES if category.parent_id == parent_id]


def is_category(category_id: int) -> bool:
    return category_id == 0 or any(c.category_id == category_id for c in CATEGORIES)
