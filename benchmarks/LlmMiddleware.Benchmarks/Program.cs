using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/LlmMiddleware.Benchmarks -- --filter '*'
// dotnet run -c Release --project benchmarks/LlmMiddleware.Benchmarks -- corpus-parity   (tokenizer vs tiktoken, realistic corpus)
// dotnet run -c Release --project benchmarks/LlmMiddleware.Benchmarks -- tokenizer-profile [o200k_base|cl100k_base]
if (args is ["corpus-parity"])
{
    return LlmMiddleware.Benchmarks.TokenizerParityCheck.Run();
}

if (args is ["tokenizer-profile", .. var rest])
{
    return LlmMiddleware.Benchmarks.TokenizerProfile.Run(rest is [var name] ? name : "o200k_base");
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
