#compdef booster

_booster_completion() {
  eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" _BOOSTER_COMPLETE=complete_zsh booster)
}

compdef _booster_completion booster
