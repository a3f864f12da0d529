"""Canonical content types: the shapes mapped records must have before they are written.

Each content type is a pydantic model keyed by its name (``core:product``, ...). Unknown fields are
rejected so a misspelt ``apiMapping`` key is caught when the definition is validated, not found
missing in the destination later; free-form data goes under ``attributes``. Add a content type by
writing its model and registering it in ``CONTENT_TYPES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

Code = Annotated[str, Field(min_length=1, description="the record's id on the source platform, as text")]
Money = Annotated[float, Field(description="an amount in the record's currency")]
Currency = Annotated[str, Field(min_length=3, max_length=3, description="ISO 4217 code, e.g. SAR")]


class _ContentModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Party(_ContentModel):
    """The customer as an order or cart names them."""

    code: str | None = Field(
        None, description="the customer's id on the source platform, when the order or cart names one"
    )
    name: str | None = Field(None, description="the full name as the platform writes it")
    firstName: str | None = Field(None, description="given name")
    lastName: str | None = Field(None, description="family name")
    email: str | None = Field(None, description="email address")
    phone: str | None = Field(None, description="phone number as the platform writes it")


class Address(_ContentModel):
    """A postal address, as the platform writes it."""

    name: str | None = Field(None, description="the recipient's name")
    line1: str | None = Field(None, description="street and number")
    line2: str | None = Field(None, description="apartment, suite, building or district")
    city: str | None = Field(None, description="city or town")
    region: str | None = Field(None, description="state, province or region")
    postalCode: str | None = Field(None, description="postal or ZIP code")
    country: str | None = Field(None, description="country, as the platform writes it (a code or a name)")
    phone: str | None = Field(None, description="the recipient's phone number")


class LineItem(_ContentModel):
    """One line of an order or a cart."""

    name: str = Field(min_length=1, description="the product's name as bought")
    quantity: float = Field(ge=0, description="units bought")
    code: str | None = Field(None, description="the line's own id on the source platform")
    productCode: str | None = Field(None, description="the id of the product the line is for")
    sku: str | None = Field(None, description="the stock-keeping unit of the product or variant")
    unitPrice: Money | None = Field(None, description="price of one unit")
    totalAmount: Money | None = Field(None, description="price of the whole line")
    imageUrl: str | None = Field(None, description="URL of the product's image")
    attributes: dict[str, Any] | None = Field(
        None, description="free-form data of the line (variant options, ...)"
    )


class CartItem(_ContentModel):
    """One line of an abandoned cart; platforms often send only product and quantity here, so a line
    needs just one of name, productCode, sku or code to identify it."""

    quantity: float = Field(ge=0, description="units in the cart")
    name: str | None = Field(None, description="the product's name")
    code: str | None = Field(None, description="the line's own id on the source platform")
    productCode: str | None = Field(None, description="the id of the product the line is for")
    sku: str | None = Field(None, description="the stock-keeping unit of the product or variant")
    unitPrice: Money | None = Field(None, description="price of one unit")
    totalAmount: Money | None = Field(None, description="price of the whole line")
    imageUrl: str | None = Field(None, description="URL of the product's image")
    attributes: dict[str, Any] | None = Field(
        None, description="free-form data of the line (variant options, ...)"
    )

    @model_validator(mode="after")
    def _identified(self) -> CartItem:
        if not (self.name or self.productCode or self.sku or self.code):
            raise ValueError("a cart line needs a name, productCode, sku or code")
        return self


class ProductOption(_ContentModel):
    """One way a product varies (Color, Size) and the values its variants take."""

    name: str = Field(min_length=1, description="the option's name, as shoppers read it")
    values: list[str] = Field(default_factory=list, description="the values its variants take, in order")


class VariantOption(_ContentModel):
    """The value one option takes on a variant."""

    name: str = Field(min_length=1, description="the option's name (one of the product's options)")
    value: str = Field(min_length=1, description="the value the variant takes")


class ProductVariant(_ContentModel):
    """One purchasable version of a product that has options (a size and colour of a shirt)."""

    sku: str | None = Field(None, description="the variant's stock-keeping unit")
    name: str | None = Field(None, description="the variant's own name, where it has one")
    unitPrice: Money | None = Field(None, description="the variant's regular price")
    salePrice: Money | None = Field(None, description="the variant's discounted price while on sale")
    quantity: float | None = Field(None, description="units of the variant in stock")
    imageUrl: str | None = Field(None, description="URL of the variant's own image")
    options: list[VariantOption] = Field(
        default_factory=list, description="the value of each of the product's options"
    )


class ProductComponent(_ContentModel):
    """A product a bundle is made of, and how many of it."""

    sku: str = Field(min_length=1, description="the stock-keeping unit of the product included")
    quantity: float = Field(1, gt=0, description="units of it in one bundle")


class Product(_ContentModel):
    """core:product: an item the store sells."""

    code: Code
    name: str = Field(min_length=1, description="the product's name")
    sku: str | None = Field(None, description="the stock-keeping unit")
    description: str | None = Field(None, description="the product's description (often HTML)")
    shortDescription: str | None = Field(None, description="a shorter description, where the source has one")
    unitPrice: Money | None = Field(None, description="regular price")
    salePrice: Money | None = Field(None, description="discounted price while on sale")
    currency: Currency | None = Field(None, description="currency of the prices")
    quantity: float | None = Field(None, description="units in stock")
    status: str | None = Field(
        None, description="the platform's status (active, draft, ...), as it writes it"
    )
    visible: bool | None = Field(
        None, description="whether shoppers see it (a catalog source's mark, a store's published state)"
    )
    allowBackorder: bool | None = Field(None, description="whether it may be ordered when out of stock")
    vendor: str | None = Field(None, description="the brand or supplier's name")
    productType: str | None = Field(None, description="the kind of item, as the source names it")
    url: str | None = Field(None, description="the product's page in the store")
    imageUrl: str | None = Field(None, description="URL of the main image")
    images: list[str] = Field(default_factory=list, description="URLs of every image, the main one first")
    categories: list[str] = Field(
        default_factory=list, description="names of the categories the product is in"
    )
    tags: list[str] = Field(default_factory=list, description="the product's tags")
    # None, not an empty list, when a source has no such thing: a record written before these fields
    # existed keeps its content hash, so no product reads as changed.
    options: list[ProductOption] | None = Field(
        None, description="the options its variants differ by (absent: a single variant)"
    )
    variants: list[ProductVariant] | None = Field(
        None, description="its purchasable versions, one per combination of option values"
    )
    components: list[ProductComponent] | None = Field(
        None, description="the products a bundle is made of (a grouping product's children)"
    )
    createdAt: datetime | None = Field(None, description="when the product was created on the platform")
    updatedAt: datetime | None = Field(None, description="when the product last changed on the platform")
    attributes: dict[str, Any] | None = Field(None, description="free-form data no other field holds")


class Customer(_ContentModel):
    """core:customer: a buyer; needs a way to reach them (email or phone)."""

    code: Code
    email: str | None = Field(None, description="email address; a customer needs this or phone")
    phone: str | None = Field(None, description="phone number; a customer needs this or email")
    firstName: str | None = Field(None, description="given name")
    lastName: str | None = Field(None, description="family name")
    fullName: str | None = Field(None, description="the full name, when the platform gives one")
    gender: str | None = Field(None, description="the customer's gender, as the platform writes it")
    birthday: datetime | None = Field(None, description="date of birth")
    city: str | None = Field(None, description="city of the customer's default address")
    country: str | None = Field(None, description="country of the customer's default address")
    acceptsMarketing: bool | None = Field(
        None, description="whether the customer agreed to receive marketing"
    )
    groups: list[str] = Field(
        default_factory=list, description="the customer groups or segments the customer is in"
    )
    createdAt: datetime | None = Field(None, description="when the customer was created on the platform")
    updatedAt: datetime | None = Field(None, description="when the customer last changed on the platform")
    attributes: dict[str, Any] | None = Field(None, description="free-form data no other field holds")

    @model_validator(mode="after")
    def _reachable(self) -> Customer:
        if not (self.email or self.phone):
            raise ValueError("a customer needs an email or a phone")
        return self


class Order(_ContentModel):
    """ecommerce:orders: a placed order."""

    code: Code
    status: str = Field(
        min_length=1, description="the platform's order status (paid, shipped, ...), as it writes it"
    )
    totalAmount: Money = Field(description="the amount the buyer pays")
    currency: Currency = Field(description="currency of every amount of the order")
    createdAt: datetime = Field(description="when the order was placed")
    orderNumber: str | None = Field(
        None, description="the number the store shows the buyer, when it differs from code"
    )
    paymentStatus: str | None = Field(
        None, description="the payment's status (paid, pending, refunded, ...), as the platform writes it"
    )
    paymentMethod: str | None = Field(None, description="how the buyer paid")
    subtotalAmount: Money | None = Field(
        None, description="the lines' total before shipping, tax and discounts"
    )
    shippingAmount: Money | None = Field(None, description="shipping cost")
    taxAmount: Money | None = Field(None, description="tax")
    discountAmount: Money | None = Field(None, description="total discount")
    discountCodes: str | None = Field(None, description="the discount codes used, comma-separated")
    customer: Party | None = Field(None, description="the buyer")
    items: list[LineItem] = Field(default_factory=list, description="the order's lines")
    shippingAddress: Address | None = Field(None, description="where the order ships to")
    url: str | None = Field(None, description="the order's page (for the buyer or the merchant)")
    updatedAt: datetime | None = Field(None, description="when the order last changed on the platform")
    attributes: dict[str, Any] | None = Field(None, description="free-form data no other field holds")


class Cart(_ContentModel):
    """ecommerce:carts: a checkout the buyer left before paying."""

    code: Code
    totalAmount: Money | None = Field(None, description="the cart's total")
    currency: Currency | None = Field(None, description="currency of every amount of the cart")
    customer: Party | None = Field(None, description="the buyer, when known")
    items: list[CartItem] = Field(default_factory=list, description="the cart's lines")
    checkoutUrl: str | None = Field(None, description="the link that takes the buyer back to the checkout")
    couponCodes: str | None = Field(None, description="the coupon codes applied, comma-separated")
    status: str | None = Field(
        None, description="the cart's state (abandoned, recovered, ...), as the platform writes it"
    )
    createdAt: datetime | None = Field(None, description="when the cart was created")
    updatedAt: datetime | None = Field(None, description="when the cart last changed")
    attributes: dict[str, Any] | None = Field(None, description="free-form data no other field holds")


SHIPMENT_STATUSES = (
    "pending",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "failed",
    "returned",
    "cancelled",
)
ShipmentStatus = Literal[
    "pending", "in_transit", "out_for_delivery", "delivered", "failed", "returned", "cancelled"
]


class ShipmentItem(_ContentModel):
    """One line of an order that a shipment carries."""

    quantity: float = Field(ge=0, description="units shipped")
    name: str | None = Field(None, description="the product's name")
    code: str | None = Field(None, description="the order line's id on the source platform")
    productCode: str | None = Field(None, description="the id of the product shipped")
    sku: str | None = Field(None, description="the stock-keeping unit of the product or variant")


class Shipment(_ContentModel):
    """ecommerce:shipments: a parcel (or the delivery) of an order, with its tracking."""

    code: Code
    orderCode: str = Field(
        min_length=1, description="the code of the order it ships (its ecommerce:orders code)"
    )
    status: ShipmentStatus = Field(
        description="where the parcel is, in Mercator's terms: " + ", ".join(SHIPMENT_STATUSES)
    )
    rawStatus: str | None = Field(None, description="the platform's own status, as it writes it")
    carrier: str | None = Field(None, description="the shipping company")
    trackingNumbers: list[str] = Field(default_factory=list, description="the carrier's tracking numbers")
    trackingUrl: str | None = Field(None, description="where the buyer follows the parcel")
    items: list[ShipmentItem] = Field(default_factory=list, description="the order lines it carries")
    customer: Party | None = Field(None, description="the buyer, who receives it (send_email's customer)")
    shippingAddress: Address | None = Field(None, description="where it goes")
    createdAt: datetime | None = Field(None, description="when the shipment was created on the platform")
    updatedAt: datetime | None = Field(None, description="when the shipment last changed on the platform")
    shippedAt: datetime | None = Field(None, description="when it left")
    deliveredAt: datetime | None = Field(None, description="when it was delivered")
    estimatedDeliveryAt: datetime | None = Field(None, description="when the carrier expects to deliver it")
    attributes: dict[str, Any] | None = Field(None, description="free-form data no other field holds")


CONTENT_TYPES: dict[str, type[_ContentModel]] = {
    "core:product": Product,
    "core:customer": Customer,
    "ecommerce:orders": Order,
    "ecommerce:carts": Cart,
    "ecommerce:shipments": Shipment,
}

# A webhook handler's recordType names the content type its records take.
RECORD_TYPES: dict[str, str] = {
    "product": "core:product",
    "customer": "core:customer",
    "order": "ecommerce:orders",
    "cart": "ecommerce:carts",
    "shipment": "ecommerce:shipments",
}

# The content type of each workflow entity type.
ENTITY_CONTENT_TYPES: dict[str, str] = {
    "Order": "ecommerce:orders",
    "Customer": "core:customer",
    "Product": "core:product",
    "Cart": "ecommerce:carts",
    "Shipment": "ecommerce:shipments",
}


@dataclass(frozen=True)
class FieldIssue:
    """One reason a mapped record does not fit its content type.

    ``missing`` is a required field the record lacks or has null (``null``); a field that is not
    required but cannot be null is not missing, its ``reason`` is pydantic's with ``null`` set.
    """

    loc: tuple[str | int, ...]
    reason: str
    missing: bool = False
    null: bool = False

    @property
    def field(self) -> str:
        return ".".join(str(part) for part in self.loc)

    @property
    def message(self) -> str:
        if self.missing:
            return "missing (null)" if self.null else "missing"
        return f"{self.reason}, not null" if self.null else self.reason


class RecordValidationError(ValueError):
    """A mapped record that does not fit its content type; ``problems`` lists field → message.

    ``issues`` are the same problems as data (where, why, missing or not), for a caller that knows
    where the record came from to say more (see ``services.mapper``).
    """

    def __init__(
        self, content_type: str, problems: list[tuple[str, str]], issues: tuple[FieldIssue, ...] = ()
    ) -> None:
        self.content_type = content_type
        self.problems = problems
        self.issues = issues
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
        # An update's mapping gives null for what the delivery does not carry: that is no change,
        # not a value (a stored status is never set to null by a delivery that lacks one).
        record = {name: value for name, value in record.items() if value is not None or name == "code"}
    else:
        model = CONTENT_TYPES[content_type]
    try:
        validated = model.model_validate(record)
        return validated.model_dump(mode="json", exclude_none=True, exclude_unset=partial)
    except ValidationError as exc:
        issues = tuple(
            _issue(model, tuple(error["loc"]), error["type"], error["input"], error["msg"])
            for error in exc.errors(include_url=False)
        )
        problems = [(issue.field, issue.message) for issue in issues]
        raise RecordValidationError(content_type, problems, issues) from None


def _issue(model: type[BaseModel], loc: tuple[str | int, ...], kind: str, value: Any, msg: str) -> FieldIssue:
    """A required field absent or null is missing (not "Input should be a valid string")."""
    if kind == "missing":
        return FieldIssue(loc, "missing", missing=True)
    reason = msg.removeprefix("Value error, ")
    if value is None and loc:
        return FieldIssue(loc, reason, missing=_required_at(model, loc), null=True)
    return FieldIssue(loc, reason)


def _required_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> bool:
    """Whether the field at ``loc`` (``("items", 0, "quantity")``) is required; list elements are not."""
    current: type[BaseModel] | None = model
    for depth, part in enumerate(loc):
        if isinstance(part, int):
            continue
        if current is None or part not in current.model_fields:
            return False
        info = current.model_fields[part]
        if depth == len(loc) - 1:
            return info.is_required()
        current, _ = _held_model(info.annotation)
    return False


def required_fields(content_type: str) -> list[str]:
    """Top-level fields a mapping must produce for ``content_type`` (model-level rules aside)."""
    return [name for name, info in CONTENT_TYPES[content_type].model_fields.items() if info.is_required()]


def known_fields(content_type: str) -> list[str]:
    return list(CONTENT_TYPES[content_type].model_fields)


@dataclass(frozen=True)
class FieldShape:
    """One field of a content type: whether it is required, and the fields of what it holds
    (``nested`` is None for a value, the item or object's fields for a list of objects or an object)."""

    required: bool
    many: bool = False
    nested: dict[str, FieldShape] | None = None


def field_shapes(content_type: str) -> dict[str, FieldShape]:
    """Every field of ``content_type``, with the fields nested in it (``items[].name``)."""
    return _shapes(CONTENT_TYPES[content_type])


def _shapes(model: type[BaseModel]) -> dict[str, FieldShape]:
    shapes = {}
    for name, info in model.model_fields.items():
        inner, many = _held_model(info.annotation)
        nested = _shapes(inner) if inner is not None else None
        shapes[name] = FieldShape(info.is_required(), many, nested)
    return shapes


def _held_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model a field holds (``Address | None`` -> Address; ``list[LineItem]`` -> LineItem, many)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    origin = get_origin(annotation)
    for arg in get_args(annotation):
        inner, many = _held_model(arg)
        if inner is not None:
            return inner, many or origin is list
    return None, False


def field_names(shapes: dict[str, FieldShape], prefix: str = "") -> list[str]:
    """The dotted names of every field, nested ones included (``items[].name``)."""
    names = []
    for name, shape in shapes.items():
        names.append(prefix + name)
        if shape.nested is not None:
            names += field_names(shape.nested, f"{prefix}{name}{'[]' if shape.many else ''}.")
    return names


def field_choices(content_type: str, name: str) -> tuple[Any, ...] | None:
    """The values a top-level field may take when its type lists them (a shipment's status); else None."""
    annotation = CONTENT_TYPES[content_type].model_fields[name].annotation
    for candidate in (annotation, *get_args(annotation)):
        if get_origin(candidate) is Literal:
            return get_args(candidate)
    return None


def plain_field_names(content_type: str) -> list[str]:
    """The top-level fields holding one plain value (text, a number, true/false, a time): what a change
    event compares (mercator.domain.changes) and a transition trigger may name."""
    return [
        name for name, info in CONTENT_TYPES[content_type].model_fields.items() if _plain(info.annotation)
    ]


def _plain(annotation: Any) -> bool:
    """Whether a field's type holds one plain value, optional or not."""
    origin = get_origin(annotation)
    if origin is Literal:
        return True
    if origin is Annotated:
        return _plain(get_args(annotation)[0])
    if origin in (Union, UnionType):
        return all(_plain(arg) for arg in get_args(annotation) if arg is not type(None))
    return annotation in (str, int, float, bool, datetime)
