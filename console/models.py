"""Console users: agents and supervisors, with hashed passwords and their skills."""
from __future__ import annotations

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from database import Base

ROLES = ("agent", "supervisor")


def client_identity(username: str) -> str:
    """The Twilio Client identity the hotline dials an agent's calls to (<Dial><Client>), which the
    access token of their browser phone names."""
    return username


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(64), default="")
    languages: Mapped[list] = mapped_column(JSON, default=list)
    categories: Mapped[list] = mapped_column(JSON, default=list)
    # Where calls reach the agent: a Twilio Client identity (the default) or a phone number.
    phone: Mapped[str] = mapped_column(String(20), default="")

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)
