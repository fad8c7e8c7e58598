// Package privkit is an embeddable SDK of privacy and storage primitives for
// services that handle people's data and send parts of it to LLM providers.
//
// The root package only opens the stores that privkit's backends share:
// [OpenSQLite] for the embedded default and [OpenPostgres] for state shared
// by many instances. The work happens in the packages below.
package privkit
