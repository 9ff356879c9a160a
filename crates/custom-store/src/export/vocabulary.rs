//! The export's element names and where each may appear. Anything else is ignored, whatever its
//! depth, together with everything inside it.

/// Where the reader stands in the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Before the root element.
    Root,
    /// Inside `<Orders>`.
    Orders,
    /// Inside `<Order>`.
    Order,
    /// Inside `<Customer>`.
    Customer,
    /// Inside `<BillTo>` or `<ShipTo>`.
    Address(Party),
    /// Inside `<Items>`.
    Items,
    /// Inside `<Item>`.
    Item,
    /// Inside `<Options>`.
    Options,
    /// Inside `<Option>`.
    Option,
    /// Inside an element whose text is a value.
    Leaf(Leaf),
    /// Inside an element this reader does not know, or inside a value.
    Ignored,
}

/// Whose address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Party {
    /// `BillTo`.
    BillTo,
    /// `ShipTo`.
    ShipTo,
}

/// An element whose text is a value, and what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Leaf {
    /// A value of the order itself.
    Order(OrderField),
    /// `Customer/CustomerCode`.
    CustomerCode,
    /// A line of an address.
    Address(Party, AddressField),
    /// A value of a line item.
    Item(ItemField),
    /// A value of an item option.
    Option(OptionField),
}

/// Values directly under `<Order>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OrderField {
    OrderId,
    OrderNumber,
    OrderDate,
    OrderStatus,
    LastModified,
    PaymentDate,
    ShippingMethod,
    PaymentMethod,
    CurrencyCode,
    OrderTotal,
    TaxAmount,
    ShippingAmount,
    CustomerNotes,
    InternalNotes,
    Gift,
    GiftMessage,
    CustomField1,
    CustomField2,
    CustomField3,
    RequestedWarehouse,
    Source,
    Weight,
    WeightUnits,
}

/// Values under `<BillTo>` and `<ShipTo>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AddressField {
    Name,
    Company,
    Address1,
    Address2,
    Address3,
    City,
    State,
    PostalCode,
    Country,
    Phone,
    Email,
}

/// Values under `<Item>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ItemField {
    LineItemId,
    Sku,
    Name,
    ImageUrl,
    Weight,
    WeightUnits,
    Quantity,
    UnitPrice,
    Location,
    Upc,
    Adjustment,
}

/// Values under `<Option>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OptionField {
    Name,
    Value,
}

impl Scope {
    /// The scope an element named `name` opens inside this one.
    pub(crate) fn child(self, name: &[u8]) -> Scope {
        match self {
            Scope::Root => Scope::Ignored,
            Scope::Orders => match name {
                b"Order" => Scope::Order,
                _ => Scope::Ignored,
            },
            Scope::Order => order_child(name),
            Scope::Customer => match name {
                b"CustomerCode" => Scope::Leaf(Leaf::CustomerCode),
                b"BillTo" => Scope::Address(Party::BillTo),
                b"ShipTo" => Scope::Address(Party::ShipTo),
                _ => Scope::Ignored,
            },
            Scope::Address(party) => AddressField::from_name(name)
                .map_or(Scope::Ignored, |f| Scope::Leaf(Leaf::Address(party, f))),
            Scope::Items => match name {
                b"Item" => Scope::Item,
                _ => Scope::Ignored,
            },
            Scope::Item => match name {
                b"Options" => Scope::Options,
                _ => ItemField::from_name(name)
                    .map_or(Scope::Ignored, |f| Scope::Leaf(Leaf::Item(f))),
            },
            Scope::Options => match name {
                b"Option" => Scope::Option,
                _ => Scope::Ignored,
            },
            Scope::Option => match name {
                b"Name" => Scope::Leaf(Leaf::Option(OptionField::Name)),
                b"Value" => Scope::Leaf(Leaf::Option(OptionField::Value)),
                _ => Scope::Ignored,
            },
            Scope::Leaf(_) | Scope::Ignored => Scope::Ignored,
        }
    }
}

fn order_child(name: &[u8]) -> Scope {
    match name {
        b"Customer" => Scope::Customer,
        b"Items" => Scope::Items,
        // Not where the schema puts them, but unambiguous.
        b"BillTo" => Scope::Address(Party::BillTo),
        b"ShipTo" => Scope::Address(Party::ShipTo),
        _ => OrderField::from_name(name).map_or(Scope::Ignored, |f| Scope::Leaf(Leaf::Order(f))),
    }
}

impl OrderField {
    fn from_name(name: &[u8]) -> Option<Self> {
        Some(match name {
            b"OrderID" => Self::OrderId,
            b"OrderNumber" => Self::OrderNumber,
            b"OrderDate" => Self::OrderDate,
            b"OrderStatus" => Self::OrderStatus,
            b"LastModified" => Self::LastModified,
            b"PaymentDate" => Self::PaymentDate,
            b"ShippingMethod" => Self::ShippingMethod,
            b"PaymentMethod" => Self::PaymentMethod,
            b"CurrencyCode" => Self::CurrencyCode,
            b"OrderTotal" => Self::OrderTotal,
            b"TaxAmount" => Self::TaxAmount,
            b"ShippingAmount" => Self::ShippingAmount,
            b"CustomerNotes" => Self::CustomerNotes,
            b"InternalNotes" => Self::InternalNotes,
            b"Gift" => Self::Gift,
            b"GiftMessage" => Self::GiftMessage,
            b"CustomField1" => Self::CustomField1,
            b"CustomField2" => Self::CustomField2,
            b"CustomField3" => Self::CustomField3,
            b"RequestedWarehouse" => Self::RequestedWarehouse,
            b"Source" => Self::Source,
            b"Weight" | b"TotalWeight" => Self::Weight,
            b"WeightUnits" => Self::WeightUnits,
            _ => return None,
        })
    }
}

impl AddressField {
    fn from_name(name: &[u8]) -> Option<Self> {
        Some(match name {
            b"Name" => Self::Name,
            b"Company" => Self::Company,
            b"Address1" => Self::Address1,
            b"Address2" => Self::Address2,
            b"Address3" => Self::Address3,
            b"City" => Self::City,
            b"State" => Self::State,
            b"PostalCode" => Self::PostalCode,
            b"Country" => Self::Country,
            b"Phone" => Self::Phone,
            b"Email" => Self::Email,
            _ => return None,
        })
    }
}

impl ItemField {
    fn from_name(name: &[u8]) -> Option<Self> {
        Some(match name {
            b"LineItemID" => Self::LineItemId,
            b"SKU" => Self::Sku,
            b"Name" => Self::Name,
            b"ImageUrl" => Self::ImageUrl,
            b"Weight" => Self::Weight,
            b"WeightUnits" => Self::WeightUnits,
            b"Quantity" => Self::Quantity,
            b"UnitPrice" => Self::UnitPrice,
            b"Location" => Self::Location,
            b"UPC" => Self::Upc,
            b"Adjustment" => Self::Adjustment,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_elements_and_everything_under_them_are_ignored() {
        assert_eq!(Scope::Order.child(b"Dimensions"), Scope::Ignored);
        assert_eq!(Scope::Ignored.child(b"OrderNumber"), Scope::Ignored);
        // An option's weight is not the item's weight.
        assert_eq!(Scope::Option.child(b"Weight"), Scope::Ignored);
        assert_eq!(
            Scope::Item.child(b"Weight"),
            Scope::Leaf(Leaf::Item(ItemField::Weight))
        );
        // A value never contains fields.
        assert_eq!(
            Scope::Leaf(Leaf::Order(OrderField::OrderNumber)).child(b"OrderID"),
            Scope::Ignored
        );
    }

    #[test]
    fn the_order_weight_has_two_spellings() {
        for name in [&b"Weight"[..], b"TotalWeight"] {
            assert_eq!(
                Scope::Order.child(name),
                Scope::Leaf(Leaf::Order(OrderField::Weight))
            );
        }
    }
}
