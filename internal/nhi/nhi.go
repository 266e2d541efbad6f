// Package nhi parses and validates New Zealand National Health Index numbers.
//
// Both formats coexist indefinitely (HISO 10046:2023): the original AAANNNC with a
// mod-11 check digit, and AAANNAX, issued from July 2026, with a mod-23 check letter.
// The earlier mod-24 draft of the new format is deliberately rejected: numbers that
// only pass mod 24 are not valid NHIs and must not be routed to a patient.
package nhi

import (
	"errors"
	"fmt"
	"strings"
)

// NHI is a validated, upper-case NHI number. The zero value is not valid.
type NHI string

// String returns the NHI itself. Callers that log must not print it: use
// internal/redact instead.
func (n NHI) String() string { return string(n) }

// IsTest reports whether n is in the Z range that Te Whatu Ora reserves for testing.
func (n NHI) IsTest() bool { return len(n) == 7 && n[0] == 'Z' }

// Format names the two NHI formats.
type Format int

const (
	// Old is AAANNNC: three letters, three digits, a mod-11 check digit.
	Old Format = iota + 1
	// New is AAANNAX: three letters, two digits, a letter, a mod-23 check letter.
	New
)

// Format reports which of the two formats n uses.
func (n NHI) Format() Format {
	if len(n) == 7 && isDigit(n[6]) {
		return Old
	}
	return New
}

// Errors returned by Parse, distinguishable with errors.Is. Their text is safe to
// show or log: it never contains the input.
var (
	ErrLength    = errors.New("an NHI number has exactly 7 characters")
	ErrShape     = errors.New("an NHI number is 3 letters, then 2 digits, then a digit or letter, then a check character (letters I and O are never used)")
	ErrCheck     = errors.New("the NHI number's check character is wrong: it may have been mistyped")
	ErrNoCheckOK = errors.New("no valid NHI number can start with these six characters")
)

// alphabet holds the 24 NHI letters; a letter's value is its index + 1.
const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ"

var weights = [6]int{7, 6, 5, 4, 3, 2}

// normalize trims surrounding space and upper-cases s without validating it.
func normalize(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// Parse normalises s and validates it as an NHI in either format.
func Parse(s string) (NHI, error) {
	s = normalize(s)
	if len(s) != 7 {
		return "", ErrLength
	}
	for i := 0; i < 3; i++ {
		if letterValue(s[i]) == 0 {
			return "", ErrShape
		}
	}
	if !isDigit(s[3]) || !isDigit(s[4]) {
		return "", ErrShape
	}
	switch {
	case isDigit(s[5]) && isDigit(s[6]):
		return checkOld(s)
	case letterValue(s[5]) != 0 && letterValue(s[6]) != 0:
		return checkNew(s)
	default:
		return "", ErrShape
	}
}

// Valid reports whether s is a valid NHI in either format.
func Valid(s string) bool {
	_, err := Parse(s)
	return err == nil
}

func checkOld(s string) (NHI, error) {
	r := weightedSum(s) % 11
	if r == 0 {
		return "", ErrNoCheckOK
	}
	c := (11 - r) % 10 // 10 is written as 0
	if int(s[6]-'0') != c {
		return "", ErrCheck
	}
	return NHI(s), nil
}

func checkNew(s string) (NHI, error) {
	c := 23 - weightedSum(s)%23 // 1..23, so Z (24) can never be a check letter
	if letterValue(s[6]) != c {
		return "", ErrCheck
	}
	return NHI(s), nil
}

func weightedSum(s string) int {
	sum := 0
	for i, w := range weights {
		v := letterValue(s[i])
		if v == 0 {
			v = int(s[i] - '0')
		}
		sum += v * w
	}
	return sum
}

func letterValue(b byte) int {
	return strings.IndexByte(alphabet, b) + 1
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// ErrNotFound is returned by Find when a name contains nothing shaped like an NHI.
var ErrNotFound = errors.New("no NHI number in the name")

// Find looks for a token in text (a file or folder name) that has the shape of an NHI,
// bounded by non-alphanumerics, and returns the first valid one. When tokens have the
// shape but fail their check, the error wraps the reason for the first of them, so the
// caller can say why a file was not routed rather than silently ignoring a typo.
func Find(text string) (NHI, error) {
	var firstErr error
	for _, tok := range tokens(text) {
		if len(tok) != 7 || !shaped(normalize(tok)) {
			continue
		}
		got, err := Parse(tok)
		if err == nil {
			return got, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return "", fmt.Errorf("the name contains something that looks like an NHI number but is not valid: %w", firstErr)
	}
	return "", ErrNotFound
}

// shaped reports whether s looks like an NHI (letters, digits, final pair) without
// checking the check character, so a mistyped NHI is reported rather than ignored.
func shaped(s string) bool {
	for i := 0; i < 3; i++ {
		if letterValue(s[i]) == 0 {
			return false
		}
	}
	if !isDigit(s[3]) || !isDigit(s[4]) {
		return false
	}
	d5, d6 := isDigit(s[5]), isDigit(s[6])
	l5, l6 := letterValue(s[5]) != 0, letterValue(s[6]) != 0
	return (d5 && d6) || (l5 && l6)
}

func tokens(text string) []string {
	return strings.FieldsFunc(text, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	})
}
