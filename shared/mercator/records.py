"""Canonical content types: the shapes mapped records must have before they are written.

Each content type is a pydantic model keyed by its name (``core:product``, ...). Unknown fields are
rejected so a misspelt ``apiMapping`` key is caught when the definition is validated, not found
missing in the destination later; free-form data goes under ``attributes``. Add a content type by
writing its model and registering it in ``CONTENT_TYPES``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

Code = Annotated[str, Field(min_length=1, description="the record's id on the source platform, as text")]
Money = Annotated[float, Field(description="an amount in the record's currency")]
Currency = Annotated[str, Field(min_length=3, max_length=3, description="ISO 4217 code, e.g. SAR")]


class _ContentModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Party(_ContentModel):
    """The customer as an order or cart names them."""

    code: str | None = None
    name: str | None = None
    firstName: str | None = None
    lastName: str | None = None
    email: str | None = None
    phone: str | None = None


class Address(_ContentModel):
    name: str | None = None
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region: str | None = None
    postalCode: str | None = None
    country: str | None = None
    phone: str | None = None


class LineItem(_ContentModel):
    """One line of an order or a cart."""

    name: str = Field(min_length=1)
    quantity: float = Field(ge=0)
    code: str | None = None
    productCode: str | None = None
    sku: str | None = None
    unitPrice: Money | None = None
    totalAmount: Money | None = None
    imageUrl: str | None = None
    attributes: dict[str, Any] | None = None


class CartItem(_ContentModel):
    """One line of an abandoned cart; platforms often send only product and quantity here."""

    quantity: float = Field(ge=0)
    name: str | None = None
    code: str | None = None
    productCode: str | None = None
    sku: str | None = None
    unitPrice: Money | None = None
    totalAmount: Money | None = None
    imageUrl: str | None = None
    attributes: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _identified(self) -> CartItem:
        if not (self.name or self.productCode or self.sku or self.code):
            raise ValueError("a cart line needs a name, productCode, sku or code")
        return self


class Product(_ContentModel):
    """core:product: an item the store sells."""

    code: Code
    name: str = Field(min_length=1)
    sku: str | None = None
    description: str | None = None
    unitPrice: Money | None = None
    salePrice: Money | None = None
    currency: Currency | None = None
    quantity: float | None = None
    status: str | None = None
    url: str | None = None
    imageUrl: str | None = None
    images: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    createdAt: datetime | None = None
    updatedAt: datetime | None = None
    attributes: dict[str, Any] | None = None


class Customer(_ContentModel):
    """core:customer: a buyer; needs a way to reach them (email or phone)."""

    code: Code
    email: str | None = None
    phone: str | None = None
    firstName: str | None = None
    lastName: str | None = None
    fullName: str | None = None
    gender: str | None = None
    birthday: datetime | None = None
    city: str | None = None
    country: str | None = None
    acceptsMarketing: bool | None = None
    groups: list[str] = Field(default_factory=list)
    createdAt: datetime | None = None
    updatedAt: datetime | None = None
    attributes: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _reachable(self) -> Customer:
        if not (self.email or self.phone):
            raise ValueError("a customer needs an email or a phone")
        return self


class Order(_ContentModel):
    """ecommerce:orders: a placed order."""

    code: Code
    status: str = Field(min_length=1)
    totalAmount: Money
    currency: Currency
    createdAt: datetime
    orderNumber: str | None = None
    paymentStatus: str | None = None
    paymentMethod: str | None = None
    subtotalAmount: Money | None = None
    shippingAmount: Money | None = None
    taxAmount: Money | None = None
    discountAmount: Money | None = None
    discountCodes: str | None = None
    customer: Party | None = None
    items: list[LineItem] = Field(default_factory=list)
    shippingAddress: Address | None = None
    url: str | None = None
    updatedAt: datetime | None = None
    attributes: dict[str, Any] | None = None


class Cart(_ContentModel):
    """ecommerce:carts: a checkout the buyer left before paying."""

    code: Code
    totalAmount: Money | None = None
    currency: Currency | None = None
    customer: Party | None = None
    items: list[CartItem] = Field(default_factory=list)
    checkoutUrl: str | None = None
    couponCodes: str | None = None
    status: str | None = None
    createdAt: datetime | None = None
    updatedAt: datetime | None = None
    attributes: dict[str, Any] | None = None


CONTENT_TYPES: dict[str, type[_ContentModel]] = {
    "core:product": Product,
    "core:customer": Customer,
    "ecommerce:orders": Order,
    "ecommerce:carts": Cart,
}

# A webhook handler's recordType names the content type its records take.
RECORD_TYPES: dict[str, str] = {
    "product": "core:product",
    "customer": "core:customer",
    "order": "ecommerce:orders",
    "cart": "ecommerce:carts",
}


class RecordValidationError(ValueError):
    """A mapped record that does not fit its content type; ``problems`` lists field → message."""

    def __init__(self, content_type: str, problems: list[tuple[str, str]]) -> None:
        self.content_type = content_type
        self.problems = problems
        detail = "; ".join(f"{field or '(record)'}: {message}" for field, message in problems)
        super().__init__(f"not a valid {content_type}: {detail}")


def _patch_model(model: type[_ContentModel]) -> type[_ContentModel]:
    """The same fields, all optional but ``code``: the shape of a partial update."""
    fields: dict[str, Any] = {
        name: (info.annotation, info if name == "code" else Field(None, description=info.description))
        for name, info in model.model_fields.items()
    }
    patch: type[_ContentModel] = create_model(f"{model.__name__}Patch", __base__=_ContentModel, **fields)
    return patch


_PATCH_MODELS: dict[str, type[_ContentModel]] = {}


def validate_record(content_type: str, record: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validate a mapped record; return it normalised (JSON-ready), or raise RecordValidationError.

    ``partial`` validates an update that carries only some fields (``code`` is still required):
    the fields it has must be valid, the ones it lacks are left out of the result.
    """
    if partial:
        model = _PATCH_MODELS.get(content_type) or _PATCH_MODELS.setdefault(
            content_type, _patch_model(CONTENT_TYPES[content_type])
        )
    else:
        model = CONTENT_TYPES[content_type]
    try:
        validated = model.model_validate(record)
        return validated.model_dump(mode="json", exclude_none=True, exclude_unset=partial)
    except ValidationError as exc:
        problems = [
            (".".join(str(part) for part in error["loc"]), error["msg"].removeprefix("Value error, "))
            for error in exc.errors(include_url=False)
        ]
        raise RecordValidationError(content_type, problems) from None


def required_fields(content_type: str) -> list[str]:
    """Top-level fields a mapping must produce for ``content_type`` (model-level rules aside)."""
    return [name for name, info in CONTENT_TYPES[content_type].model_fields.items() if info.is_required()]


def known_fields(content_type: str) -> list[str]:
    return list(CONTENT_TYPES[content_type].model_fields)
