package redact

func findPhones(text string, dst []Finding) []Finding  { return dst }
func findCards(text string, dst []Finding) []Finding   { return dst }
func findIBANs(text string, dst []Finding) []Finding   { return dst }
func findSSNs(text string, dst []Finding) []Finding    { return dst }
func findIPs(text string, dst []Finding) []Finding     { return dst }
func findSecrets(text string, dst []Finding) []Finding { return dst }
