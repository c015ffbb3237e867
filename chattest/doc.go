// Package chattest holds the contract suites that every implementation of a chat
// interface must pass, each taking a factory so that one suite runs against every
// backend, and the helpers those tests share. It is imported by tests only.
package chattest
