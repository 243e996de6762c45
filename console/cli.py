"""`flask agents add|list`: console users, kept in SQL and registered with the ACD."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from config import LANGUAGES
from console.models import ROLES, User
from database import new_session
from tickets.categories import ComplaintCategory

agents_cli = AppGroup("agents", help="Console users (agents and supervisors).")
CATEGORIES = [c.value for c in ComplaintCategory]


def _csv(value: str, allowed: list[str], what: str) -> list[str]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in items if v not in allowed]
    if unknown:
        raise click.BadParameter(f"unknown {what}: {', '.join(unknown)} (choose from {', '.join(allowed)})")
    return items


@agents_cli.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="agent")
@click.option("--name", default="", help="display name")
@click.option("--languages", default="zh-CN", help=f"comma-separated: {', '.join(LANGUAGES)}")
@click.option("--skills", default="", help="complaint categories the agent handles, comma-separated")
@click.option("--phone", default="", help="ring this phone instead of the browser console")
@click.password_option(help="the console password (prompted when not given)")
def add_command(username, role, name, languages, skills, phone, password) -> None:
    """Add (or update) a console user."""
    from flask import current_app

    from callqueue.routing import distributor
    from redis_conn import get_redis

    languages = _csv(languages, list(LANGUAGES), "language")
    categories = _csv(skills, CATEGORIES, "skill")
    session = new_session()
    try:
        user = session.scalar(select(User).where(User.username == username)) or User(username=username)
        user.role, user.display_name, user.languages, user.categories, user.phone = (
            role, name or username, languages, categories, phone)
        user.set_password(password)
        session.add(user)
        session.commit()
    finally:
        session.close()
    distributor(get_redis(), current_app.config).register_agent(username, languages=languages, categories=categories)
    click.echo(f"{role} {username}: {', '.join(languages)}; skills: {', '.join(categories) or 'general only'}")


@agents_cli.command("list")
def list_command() -> None:
    """Console users: role, languages and complaint skills."""
    session = new_session()
    try:
        for user in session.scalars(select(User).order_by(User.username)):
            click.echo(f"{user.username:<16} {user.role:<10} {','.join(user.languages):<12} {','.join(user.categories)}")
    finally:
        session.close()
