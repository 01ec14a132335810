"""The organization: a tree of units, employees, their effective-dated unit history, the initiative."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    UniqueConstraint,
    and_,
    func,
    or_,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from adoption.extensions import db

UNIT_PATH_SEPARATOR = "/"


class OrgUnit(db.Model):
    """A unit of the organization tree: company → region → team (any depth is allowed)."""

    __tablename__ = "org_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    # Full path from the root, e.g. "Acme/EMEA/Sales North": unique, and a prefix match
    # on it selects a subtree in one indexed query.
    path: Mapped[str] = mapped_column(String(1000), unique=True)
    # 0 for the root (company), 1 for its children (regions), ...
    depth: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[OrgUnit]] = relationship(back_populates="parent")

    @property
    def is_leaf(self) -> bool:
        """True when the unit has no child units (a team)."""
        return not self.children

    def __repr__(self) -> str:
        return f"<OrgUnit {self.path}>"


class Employee(db.Model):
    """A person on the HR roster; deactivated, never deleted, so history stays intact."""

    __tablename__ = "employees"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The employee id from the HR system (the roster's `employee_id` column).
    hr_id: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(200))
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"), index=True)
    # Current unit; the dated history lives in UnitMembership.
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    # Set only for people holding a CRM licence.
    crm_user_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    crm_username: Mapped[str | None] = mapped_column(String(320), unique=True)
    is_executive: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime, server_default=func.now(), onupdate=func.now()
    )

    unit: Mapped[OrgUnit] = relationship()
    manager: Mapped[Employee | None] = relationship(remote_side=[id])
    memberships: Mapped[list[UnitMembership]] = relationship(
        back_populates="employee", order_by="UnitMembership.valid_from"
    )

    @hybrid_property
    def has_crm_licence(self) -> bool:
        """True when the roster names a CRM user (id or username) for this person.

        The one licence rule: in SQL (``Employee.has_crm_licence``) it is the same test, so the
        home page, the dashboards, the weekly rollups and the adoption API count the same people.
        """
        return bool(self.crm_user_id or self.crm_username)

    @has_crm_licence.inplace.expression
    @classmethod
    def _has_crm_licence_sql(cls):
        """SQL form of ``has_crm_licence``: empty strings are no licence, as in Python."""
        return or_(
            and_(cls.crm_user_id.is_not(None), cls.crm_user_id != ""),
            and_(cls.crm_username.is_not(None), cls.crm_username != ""),
        )

    def __repr__(self) -> str:
        return f"<Employee {self.hr_id} {self.email}>"


class UnitMembership(db.Model):
    """One period during which an employee belonged to a unit: [valid_from, valid_to)."""

    __tablename__ = "unit_memberships"
    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="valid_period"),
        Index("ix_unit_memberships_employee_period", "employee_id", "valid_from"),
        Index("ix_unit_memberships_unit_period", "unit_id", "valid_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    # Exclusive end; NULL while the membership is current.
    valid_to: Mapped[dt.date | None] = mapped_column(Date)

    employee: Mapped[Employee] = relationship(back_populates="memberships")
    unit: Mapped[OrgUnit] = relationship()


initiative_sponsors = Table(
    "initiative_sponsors",
    db.Model.metadata,
    Column("initiative_id", ForeignKey("initiatives.id"), primary_key=True),
    Column("employee_id", ForeignKey("employees.id"), primary_key=True),
)


class Initiative(db.Model):
    """The CRM rollout being tracked."""

    __tablename__ = "initiatives"
    __table_args__ = (
        UniqueConstraint("name"),
        CheckConstraint("licensed_seats >= 0", name="seats_not_negative"),
        CheckConstraint(
            "adoption_target_pct >= 0 AND adoption_target_pct <= 100", name="target_is_percentage"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    start_date: Mapped[dt.date] = mapped_column(Date)
    licensed_seats: Mapped[int] = mapped_column(Integer)
    adoption_target_pct: Mapped[float] = mapped_column(Numeric(5, 2, asdecimal=False))
    # Event types that define real use, e.g. ["opportunity_updated", "activity_logged"].
    key_behaviours: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())

    sponsors: Mapped[list[Employee]] = relationship(secondary=initiative_sponsors)
