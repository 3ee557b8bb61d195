package vocab

import "fmt"

// DefaultCurrency is the head-end's currency when its operator names none (ISO 4217). Boxes
// learn the currency from the head-end with the account; they never assume one.
const DefaultCurrency = "EUR"

// symbols are the currencies written with a sign before the amount; any other is written with
// its code after it.
var symbols = map[string]string{"EUR": "€", "GBP": "£", "USD": "$"}

// Price is an amount of cents in currency: "€3.99", "12.50 CHF", "-€1.20" for a debt; "3.99"
// while the currency is not known (""). Zero is "free": use Amount for a balance.
func Price(cents int64, currency string) string {
	if cents == 0 {
		return "free"
	}
	return Amount(cents, currency)
}

// Amount is an amount of cents in currency, zero included ("€0.00"): a balance, a charge.
func Amount(cents int64, currency string) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	n := fmt.Sprintf("%d.%02d", cents/100, cents%100)
	switch sym, ok := symbols[currency]; {
	case ok:
		return sign + sym + n
	case currency == "":
		return sign + n
	default:
		return sign + n + " " + currency
	}
}

// RentalPrice is what renting a title costs whose price to own is owned: a third, rounded up;
// a free title is free either way. The head-end charges it (sales.Price) and every screen shows
// it from here.
func RentalPrice(owned int64) int64 { return (owned + 2) / 3 }
