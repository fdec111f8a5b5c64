//go:build race

package caller_test

// raceOn: the race detector keeps shadow memory and history that grow
// with every call, so RSS says nothing about leaks under it.
const raceOn = true
