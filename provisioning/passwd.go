package provisioning

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Mosquitto 2.0's password hashes ($7$), as mosquitto_passwd writes them
// into a password_file: "$7$" iterations "$" base64(salt) "$"
// base64(PBKDF2-HMAC-SHA512(password, salt, iterations, 64 bytes)), with
// the standard base64 alphabet and padding. Debian 12's mosquitto_passwd
// (2.0.11) uses 101 iterations and a 12-byte salt; the broker reads any
// count. Hearth uses the same 101: its passwords are random (NewPassword,
// 144 bits), so more iterations would add no strength, only cost to the
// broker at every login (and to a flood of wrong ones).
const (
	PasswdIterations = 101
	passwdSaltLen    = 12
	passwdHashLen    = 64
)

// HashPassword is password's line in a Mosquitto password file after
// "user:": a $7$ PBKDF2-SHA512 hash with a fresh salt.
func HashPassword(password string) (string, error) {
	salt := make([]byte, passwdSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return hashPassword(password, salt, PasswdIterations)
}

func hashPassword(password string, salt []byte, iter int) (string, error) {
	k, err := pbkdf2.Key(sha512.New, password, salt, iter, passwdHashLen)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	enc := base64.StdEncoding
	return "$7$" + strconv.Itoa(iter) + "$" + enc.EncodeToString(salt) + "$" + enc.EncodeToString(k), nil
}

// CheckPassword reports whether password matches a $7$ hash as Mosquitto
// 2.0 checks it; a hash it cannot read is an error.
func CheckPassword(hash, password string) (bool, error) {
	iter, salt, want, err := parsePasswordHash(hash)
	if err != nil {
		return false, err
	}
	got, err := pbkdf2.Key(sha512.New, password, salt, iter, len(want))
	if err != nil {
		return false, fmt.Errorf("check password: %w", err)
	}
	return hmac.Equal(got, want), nil
}

func parsePasswordHash(hash string) (iter int, salt, sum []byte, err error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 5 || parts[0] != "" || parts[1] != "7" {
		return 0, nil, nil, errors.New("password hash: not Mosquitto's $7$ form")
	}
	iter, err = strconv.Atoi(parts[2])
	if err != nil || iter < 1 || iter > 10_000_000 {
		return 0, nil, nil, fmt.Errorf("password hash: iterations %q", parts[2])
	}
	if salt, err = base64.StdEncoding.DecodeString(parts[3]); err != nil || len(salt) == 0 {
		return 0, nil, nil, fmt.Errorf("password hash: salt %q", parts[3])
	}
	if sum, err = base64.StdEncoding.DecodeString(parts[4]); err != nil || len(sum) != passwdHashLen {
		return 0, nil, nil, errors.New("password hash: not a 64-byte SHA-512 sum")
	}
	return iter, salt, sum, nil
}

// NewPassword is a random broker password: 24 characters of URL-safe
// base64 (144 bits), which a person pastes once into the browser page.
func NewPassword() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}
