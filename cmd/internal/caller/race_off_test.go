//go:build !race

package caller_test

const raceOn = false
