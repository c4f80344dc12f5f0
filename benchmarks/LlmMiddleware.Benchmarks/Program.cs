using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/LlmMiddleware.Benchmarks -- --filter '*'
// dotnet run -c Release --project benchmarks/LlmMiddleware.Benchmarks -- corpus-parity   (tokenizer vs tiktoken, realistic corpus)
if (args is ["corpus-parity"])
{
    return LlmMiddleware.Benchmarks.TokenizerParityCheck.Run();
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
